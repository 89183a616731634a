import json
import math

import pytest
import torch

from coterie import CoLearning, Ensemble, Independent, Trainer
from coterie.objectives.base import Objective, ObjectiveOutput
from coterie.training import NonFiniteLossError
from coterie.training.callbacks import Callback


def _data(n=256, d=10, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    w = torch.randn(d, c, generator=g)
    y = (x @ w).argmax(-1)
    return (x[:200], y[:200]), (x[200:], y[200:])


def _ens():
    return Ensemble.from_factory("mlp", 3, seed=0, in_features=10, num_classes=3, hidden=(16,))


def _trainer(ens, run_dir=None, epochs=4, **kw):
    return Trainer(
        ens, CoLearning(-0.3), lr=0.1, epochs=epochs, batch_size=32, seed=3, run_dir=run_dir, progress=False, **kw
    )


def test_fit_learns_and_logs(tmp_path):
    train, val = _data()
    tr = _trainer(_ens(), tmp_path, epochs=6)
    hist = tr.fit(train, val)
    assert len(hist) == 6
    assert hist[-1]["val_ens_acc_mean"] > 0.6
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(s)["epoch"] for s in lines] == list(range(6))
    assert (tmp_path / "checkpoints" / "last.json").exists()
    assert list((tmp_path / "checkpoints").glob("*.safetensors"))


class KilledError(Exception):
    pass


class _KillAt(Callback):
    """Simulates a kill during epoch ``at``: before its record is logged or checkpointed."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, trainer, epoch, record, val_logits):
        if epoch == self.at:
            raise KilledError


def test_resume_reproduces_uninterrupted_run(tmp_path):
    train, val = _data()
    full = _trainer(_ens(), tmp_path / "a", epochs=5, schedule="cosine").fit(train, val)
    d = tmp_path / "b"
    with pytest.raises(KilledError):
        _trainer(_ens(), d, epochs=5, schedule="cosine", callbacks=[_KillAt(2)]).fit(train, val)
    resumed = _trainer(_ens(), d, epochs=5, schedule="cosine").fit(train, val)  # a fresh ensemble object
    assert len(resumed) == 5
    for a, b in zip(full, resumed):
        assert a["train_loss"] == b["train_loss"]
        assert a["val_member_acc"] == b["val_member_acc"]
    recs = [json.loads(s) for s in (d / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in recs] == list(range(5))


def test_frozen_members_do_not_change():
    train, val = _data()
    ens = _ens()
    before = [p.clone() for p in ens.members[0].parameters()]
    other = [p.clone() for p in ens.members[1].parameters()]
    _trainer(ens, epochs=2, frozen=(0,)).fit(train, val)
    assert all(torch.equal(a, b) for a, b in zip(before, ens.members[0].parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(other, ens.members[1].parameters()))
    with pytest.raises(ValueError, match="out of range"):
        _trainer(_ens(), epochs=1, frozen=(7,)).fit(train, val)


class _Explodes(Objective):
    def __call__(self, ensemble, x, y):
        out = Independent()(ensemble, x, y)
        losses = out.losses.clone()
        losses[2] = losses[2] * math.inf
        return ObjectiveOutput(losses, out.terms, out.logits)


def test_nan_guard_names_epoch_step_member_and_keeps_checkpoint(tmp_path):
    train, val = _data()
    ens = _ens()
    _trainer(ens, tmp_path, epochs=1).fit(train, val)
    saved = (tmp_path / "checkpoints" / "last.json").read_text()
    tr = Trainer(ens, _Explodes(), epochs=3, run_dir=tmp_path / "x", progress=False)
    with pytest.raises(NonFiniteLossError, match=r"epoch 0, step 0, member 2"):
        tr.fit(train, val)
    assert (tmp_path / "checkpoints" / "last.json").read_text() == saved


def test_adam_and_step_schedule_run():
    train, val = _data()
    tr = Trainer(
        _ens(),
        Independent(),
        optimizer="adam",
        lr=1e-2,
        schedule="step",
        step_size=1,
        gamma=0.5,
        epochs=3,
        progress=False,
    )
    hist = tr.fit(train, val)
    assert [round(r["lr"], 6) for r in hist] == [0.01, 0.005, 0.0025]


def test_empty_data_is_named_by_its_role():
    # an empty validation set was reported as "the training data is empty"
    (x, y), _ = _data()
    with pytest.raises(ValueError, match="the validation data is empty"):
        _trainer(_ens(), epochs=1).fit((x, y), (x[:0], y[:0]))
    with pytest.raises(ValueError, match="the training data is empty"):
        _trainer(_ens(), epochs=1).fit((x[:0], y[:0]), (x, y))
    with pytest.raises(ValueError, match="the evaluation data is empty"):
        _trainer(_ens(), epochs=1).evaluate((x[:0], y[:0]))


def test_an_unknown_optimizer_is_refused_at_construction():
    with pytest.raises(ValueError, match="unknown optimizer 'sdg'; choose sgd, adam, adamw"):
        Trainer(_ens(), CoLearning(-0.3), optimizer="sdg")  # type: ignore[arg-type]
