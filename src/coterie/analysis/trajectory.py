"""A Trainer callback that records what the along-training figures need, on validation data.

Per epoch it adds to the logged record (small, so ``metrics.jsonl`` stays light):

- ``val_member_kl`` (N,): KL(q ‖ p_i) of each member (Fig 2b y-axis);
- ``val_js_matrix`` (N+1, N+1): d between networks and the ensemble (Fig 2b x-axis, Fig 4a along training);
- ``val_inactive_fraction`` / ``val_mean_activation``: {layer: (N,)} (Fig 6a); both keys are left out of every
  record, with one warning at the first epoch, when the members have no activation layers to measure (a linear
  model, or a member without ``feature_layers``). Any error while measuring activity propagates.

and, every ``logits_every`` epochs, saves the members' validation logits on a fixed subset of ``logits_samples``
validation samples to ``trajectory/epoch-NNNN.npy`` (float16, (N, S, C)) for the MDS trajectories of Fig 4b. Files
are written atomically, so a resumed run keeps the epochs written before it was interrupted.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from coterie.analysis.activity import layer_activity
from coterie.analysis.functional import js_matrix_with_ensemble, member_kl_to_target
from coterie.ensemble import Ensemble
from coterie.training.callbacks import Callback
from coterie.utils.errors import InputError
from coterie.utils.io import atomic_write_bytes

if TYPE_CHECKING:
    from coterie.training.trainer import Trainer

log = logging.getLogger(__name__)


def activity_layers(ensemble: Ensemble) -> list[str] | None:
    """The activation layers whose activity is recorded (member 0's), or None, with a warning saying why, when there
    are none: a member without ``feature_layers`` or a model without activation layers (e.g. a linear model)."""
    member = ensemble.members[0]
    if not hasattr(member, "feature_layers"):
        log.warning(
            "activity is not recorded: member %s has no feature_layers (not a CoterieModel)", type(member).__name__
        )
        return None
    names = list(member.feature_layers("activation"))
    if not names:
        log.warning("activity is not recorded: member %s has no activation layers", type(member).__name__)
        return None
    return names


class TrajectoryRecorder(Callback):
    """Record functional distances, member KL and activity per epoch on validation data (see module docstring).

    Args:
        x_val, y_val: validation inputs (M, ...) and labels (M,).
        out_dir: where ``trajectory/`` goes; ``None`` keeps logits in memory (``self.logits``).
        logits_every: epochs between saved logit snapshots (0 disables them).
        logits_samples: size of the fixed validation subset whose logits are saved.
        activity_samples: validation samples used for activity statistics (at least 1).
        seed: picks the subset.

    Raises:
        InputError: ``activity_samples`` below 1.
    """

    def __init__(
        self,
        x_val: Tensor,
        y_val: Tensor,
        out_dir: Path | None = None,
        logits_every: int = 1,
        logits_samples: int = 256,
        activity_samples: int = 512,
        seed: int = 0,
    ) -> None:
        if activity_samples < 1:
            raise InputError(f"activity_samples must be at least 1, got {activity_samples}")
        self.x_val, self.y_val = x_val, y_val
        g = torch.Generator().manual_seed(seed)
        m = x_val.shape[0]
        self.subset = torch.randperm(m, generator=g)[: min(m, logits_samples)].sort().values
        self.activity_idx = torch.randperm(m, generator=g)[: min(m, activity_samples)].sort().values
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.logits_every = logits_every
        self.logits: dict[int, Tensor] = {}
        self._layers_decided = False  # activity_layers runs once, at the first epoch (it needs the ensemble)
        self.layers: list[str] | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        if val_logits is None:
            return
        record["val_member_kl"] = member_kl_to_target(val_logits, self.y_val).tolist()
        record["val_js_matrix"] = js_matrix_with_ensemble(val_logits).tolist()
        if not self._layers_decided:
            self.layers, self._layers_decided = activity_layers(trainer.ensemble), True
        if self.layers is not None:
            act = layer_activity(trainer.ensemble, self.x_val[self.activity_idx], self.layers)
            record["val_inactive_fraction"] = {k: v["inactive_fraction"].tolist() for k, v in act.items()}
            record["val_mean_activation"] = {k: v["mean_activation"].tolist() for k, v in act.items()}
        if self.logits_every and epoch % self.logits_every == 0:
            snap = val_logits[:, self.subset].to(torch.float16)
            if self.out_dir is None:
                self.logits[epoch] = snap
            else:
                buf = io.BytesIO()
                np.save(buf, snap.numpy())
                atomic_write_bytes(self.out_dir / "trajectory" / f"epoch-{epoch:04d}.npy", buf.getvalue())
        if self.out_dir is not None and epoch == 0:
            buf = io.BytesIO()
            np.save(buf, self.y_val[self.subset].numpy())
            atomic_write_bytes(self.out_dir / "trajectory" / "labels.npy", buf.getvalue())


def load_trajectory(run_dir: Path | str) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(epochs (T,), logits (T, N, S, C) float32, labels (S,))`` saved by :class:`TrajectoryRecorder`, or None."""
    d = Path(run_dir) / "trajectory"
    files = sorted(d.glob("epoch-*.npy"))
    if not files:
        return None
    epochs = np.array([int(f.stem.split("-")[1]) for f in files])
    logits = np.stack([np.load(f).astype(np.float32) for f in files])
    labels = np.load(d / "labels.npy") if (d / "labels.npy").exists() else np.zeros(logits.shape[2], dtype=np.int64)
    return epochs, logits, labels
