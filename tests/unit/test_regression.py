"""The Regression objective (coterie.objectives.regression) against torch's losses, and the Trainer's stop hook."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import Tensor, nn

from coterie.ensemble.ensemble import Ensemble
from coterie.objectives.regression import Regression, member_regression_loss
from coterie.training.callbacks import Callback
from coterie.training.trainer import Trainer


@pytest.mark.parametrize(
    ("name", "ref"),
    [
        ("mse", nn.functional.mse_loss),
        ("l1", nn.functional.l1_loss),
        ("huber", nn.functional.smooth_l1_loss),
        ("sse", lambda a, b: ((a - b) ** 2).sum(1).mean()),
    ],
)
def test_member_losses_equal_torch_losses_member_by_member(name: str, ref: Any) -> None:
    g = torch.Generator().manual_seed(0)
    out, y = torch.randn(3, 8, 4, generator=g) * 2, torch.randn(8, 4, generator=g)
    got = member_regression_loss(out, y, name)  # type: ignore[arg-type]
    torch.testing.assert_close(got, torch.stack([ref(out[i], y) for i in range(3)]))
    one = member_regression_loss(out[:, :, :1], y[:, 0], name)  # (B,) targets of a single output
    torch.testing.assert_close(one, torch.stack([ref(out[i, :, :1], y[:, :1]) for i in range(3)]))
    own = member_regression_loss(out, y.expand(3, 8, 4) + 1.0, name)  # per-member targets
    torch.testing.assert_close(own, torch.stack([ref(out[i], y + 1.0) for i in range(3)]))
    with pytest.raises(ValueError, match="unknown regression loss 'l3'"):
        Regression("l3")  # type: ignore[arg-type]


class _StopAt(Callback):
    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        trainer.should_stop = epoch == self.epoch


def test_a_callback_stops_training_after_its_epoch_with_a_checkpoint(tmp_path: Any) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(64, 3), torch.randn(64, 2)
    ens = Ensemble([nn.Linear(3, 2), nn.Linear(3, 2)])
    trainer = Trainer(
        ens,
        Regression("mse"),
        optimizer="adam",
        lr=1e-2,
        epochs=10,
        batch_size=16,
        callbacks=[_StopAt(2)],
        run_dir=tmp_path,
        checkpoint_every=100,
        progress=False,
    )
    history = trainer.fit((x, y))
    assert [r["epoch"] for r in history] == [0, 1, 2]
    assert trainer.rundir is not None
    from coterie.training import checkpoint as ckpt

    assert ckpt.has_checkpoint(trainer.rundir.checkpoint_dir)
    # a second fit starts with should_stop cleared and resumes after the stopped epoch
    trainer.callbacks = [_StopAt(4)]
    assert [r["epoch"] for r in trainer.fit((x, y))] == [0, 1, 2, 3, 4]
