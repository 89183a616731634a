"""Weights-only files of a run: ``final.safetensors`` and ``best.safetensors``, and the callback that writes them.

A weights file holds a module's ``state_dict()`` alone (no optimiser, no RNG) in safetensors, plus string metadata
(``epoch``, ``metric``, ``value``). It is written atomically, so a killed run leaves the previous file intact.
:func:`save_weights` / :func:`load_weights` are the two calls every experiment uses; :class:`BestWeights` is the
Trainer callback that keeps ``best.safetensors`` at the epoch with the best validation value of a stated metric
and writes ``final.safetensors`` when ``fit`` ends.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import safe_open
from safetensors.torch import save as safetensors_bytes
from torch import Tensor, nn

from coterie.training.callbacks import Callback
from coterie.utils.io import atomic_write_bytes

if TYPE_CHECKING:
    from coterie.training.trainer import Trainer

log = logging.getLogger(__name__)

FINAL = "final.safetensors"
BEST = "best.safetensors"
# The scalar validation figures the Trainer logs (``val_`` + :func:`coterie.metrics.ensemble_summary`'s scalars).
BEST_METRICS: tuple[str, ...] = tuple(
    f"val_{k}"
    for k in (
        "ens_acc_mean",
        "ens_acc_geometric",
        "ens_acc_vote",
        "ens_acc_logit_mean",
        "member_acc_mean",
        "nll",
        "ece",
        "brier",
        "member_nll_mean",
        "mean_js",
    )
)
_LOWER_IS_BETTER = ("nll", "ece", "brier", "loss")


class WeightsFileError(ValueError):
    """A weights file is missing, truncated, corrupted, or does not fit the module; the message names the file."""


def metric_mode(name: str) -> str:
    """``min`` for losses and calibration errors (names containing nll, ece, brier or loss), else ``max``."""
    return "min" if any(k in name for k in _LOWER_IS_BETTER) else "max"


def check_metric(name: str) -> str:
    """Return ``name`` if it is a figure the Trainer logs per epoch; raise ValueError naming the allowed ones."""
    if name not in BEST_METRICS:
        raise ValueError(f"unknown best_metric {name!r}; allowed: {list(BEST_METRICS)}")
    return name


def owned_state_dict(module: nn.Module) -> dict[str, Tensor]:
    """``module.state_dict()`` as CPU tensors with storage of their own (packed members share storage, which
    safetensors refuses; see :mod:`coterie.ensemble.packing`)."""
    return {
        k: v.detach().to("cpu", copy=True, memory_format=torch.contiguous_format)
        for k, v in module.state_dict().items()
    }


def save_weights(path: str | Path, module: nn.Module, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``module.state_dict()`` (weights only) to ``path`` atomically; ``metadata`` values become strings."""
    path = Path(path)
    meta = {"format": "coterie-weights", **{k: str(v) for k, v in (metadata or {}).items()}}
    atomic_write_bytes(path, safetensors_bytes(owned_state_dict(module), metadata=meta))
    return path


def read_weights(path: str | Path, device: str | torch.device = "cpu") -> tuple[dict[str, Tensor], dict[str, str]]:
    """The tensors and metadata of a weights file. Raises :class:`WeightsFileError` when it is missing or unreadable
    (truncated, corrupted, not safetensors)."""
    path = Path(path)
    if not path.is_file():
        raise WeightsFileError(f"weights file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt", device=str(device)) as f:
            meta = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no __iter__)
    except Exception as e:  # safetensors raises SafetensorError, OSError or ValueError depending on the damage
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise WeightsFileError(f"weights file {path} is truncated or corrupted ({reason})") from None
    return tensors, meta


def read_weights_metadata(path: str | Path) -> dict[str, str] | None:
    """A weights file's metadata, or ``None`` when the file is missing or unreadable."""
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception:
        return None


def load_weights(path: str | Path, module: nn.Module, device: str | torch.device | None = None) -> dict[str, str]:
    """Load a weights file written by :func:`save_weights` into ``module`` (strictly: every key, every shape);
    returns the file's metadata. Raises :class:`WeightsFileError` naming the file and what does not match."""
    if device is None:
        device = next(iter(module.parameters()), torch.empty(0)).device
    tensors, meta = read_weights(path, device)
    own = module.state_dict()
    missing, unexpected = sorted(set(own) - set(tensors)), sorted(set(tensors) - set(own))
    shapes = [k for k in own if k in tensors and tuple(own[k].shape) != tuple(tensors[k].shape)]
    if missing or unexpected or shapes:
        parts = [
            f"{what} {keys[:3]}{' ...' if len(keys) > 3 else ''}"
            for what, keys in (("missing", missing), ("unexpected", unexpected), ("shape mismatch", shapes))
            if keys
        ]
        raise WeightsFileError(f"weights file {path} does not fit the {type(module).__name__}: {'; '.join(parts)}")
    module.load_state_dict(tensors)
    return meta


class BestWeights(Callback):
    """Keep ``directory/best.safetensors`` at the epoch with the best ``metric`` and write
    ``directory/final.safetensors`` when ``fit`` ends.

    ``metric`` is a validation figure the Trainer logs (default ``val_ens_acc_mean``); lower is better for nll, ece,
    brier and losses (:func:`metric_mode`), ties keep the earlier epoch. It survives resume: the best epoch is
    recomputed from the restored history, and the file on disk (its metadata names its epoch) is kept when it holds
    that epoch. Without validation data the metric is never logged and ``best`` is the final epoch (with a warning).
    In member-parallel runs every process decides alike and the members are gathered before a best file is written.
    """

    def __init__(self, directory: str | Path, metric: str = "val_ens_acc_mean") -> None:
        self.directory = Path(directory)
        self.metric = check_metric(metric)
        self.mode = metric_mode(metric)
        self.epoch: int | None = None
        self.value: float | None = None
        self.note: str | None = None
        self._synced = False

    def _better(self, value: float) -> bool:
        """Whether ``value`` beats the best so far. A NaN (a diverged epoch) beats only nothing, and any number
        beats a NaN: comparisons with NaN are all false, so a NaN best would otherwise never be replaced."""
        if self.value is None or math.isnan(self.value):
            return True
        if math.isnan(value):
            return False
        return value < self.value if self.mode == "min" else value > self.value

    def _save(self, trainer: Trainer, epoch: int, value: float | None) -> None:
        sharding = getattr(trainer.ensemble, "sharding", None)
        if sharding is not None:  # every process holds only its own members' current weights (a collective)
            sharding.sync_members(list(trainer.ensemble.members))
        self.epoch, self.value = epoch, value
        if sharding is None or sharding.rank == 0:
            save_weights(
                self.directory / BEST, trainer.ensemble, {"epoch": epoch, "metric": self.metric, "value": value}
            )

    def _sync(self, trainer: Trainer) -> None:
        """After a resume: the best epoch among the restored records, and whether best.safetensors holds it."""
        self._synced = True
        for r in trainer.history:
            if r.get(self.metric) is not None and self._better(float(r[self.metric])):
                self.epoch, self.value = int(r["epoch"]), float(r[self.metric])
        if self.epoch is None:
            return
        last = int(trainer.history[-1]["epoch"])
        meta = read_weights_metadata(self.directory / BEST) or {}
        action = "keep" if meta.get("epoch") == str(self.epoch) else "last" if last == self.epoch else "reset"
        if action == "reset" and str(meta.get("epoch", "")).isdigit() and int(meta["epoch"]) > last:
            # written for an epoch after the checkpoint, lost with the kill: the resumed run recomputes those epochs
            # bit for bit, so it writes the file again (on_fit_end checks that it did)
            action = "ahead"
        sharding = getattr(trainer.ensemble, "sharding", None)
        if sharding is not None:  # rank 0 owns the files: everyone follows its decision (collectives must match)
            action = sharding.broadcast_object(action)
        if action == "last":  # the restored weights are the best ones
            self._save(trainer, last, self.value)
        elif action == "reset":
            self._restart_at_last(
                trainer,
                f"best.safetensors did not hold epoch {self.epoch} when the run resumed after epoch "
                f"{last}; best is chosen among epochs >= {last}",
            )

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        if not self._synced:
            self._sync(trainer)
        value = record.get(self.metric)
        if value is not None and self._better(float(value)):
            self._save(trainer, epoch, float(value))

    def on_fit_end(self, trainer: Trainer) -> None:
        if not self._synced:  # resumed after the last epoch: nothing ran
            self._sync(trainer)
        last = int(trainer.history[-1]["epoch"]) if trainer.history else -1
        if self.epoch is None:  # the metric was never logged (no validation data)
            self.note = f"{self.metric} was never logged (no validation data): best is the final epoch"
            log.warning("%s: %s", self.directory, self.note)
            self._save(trainer, last, None)
        elif self._lost(trainer):  # after an "ahead" resume that did not rewrite it (the resumed run was not exact)
            self._restart_at_last(
                trainer, f"best.safetensors did not hold the best epoch {self.epoch} at the end; it holds epoch {last}"
            )
        save_weights(self.directory / FINAL, trainer.ensemble, {"epoch": last})

    def _restart_at_last(self, trainer: Trainer, note: str) -> None:
        """Best becomes the last restored or trained epoch (the current weights), with ``note`` saying why."""
        self.note = note
        log.warning("%s: %s", self.directory, note)
        value = trainer.history[-1].get(self.metric)
        self._save(trainer, int(trainer.history[-1]["epoch"]), None if value is None else float(value))

    def _lost(self, trainer: Trainer) -> bool:
        """Whether best.safetensors does not hold the best epoch (rank 0 decides for every rank)."""
        lost = (read_weights_metadata(self.directory / BEST) or {}).get("epoch") != str(self.epoch)
        sharding = getattr(trainer.ensemble, "sharding", None)
        return bool(sharding.broadcast_object(lost)) if sharding is not None else lost

    def summary(self) -> dict[str, Any]:
        """``{"metric", "mode", "epoch", "value"}`` (plus ``note`` when something was unusual), for results.json."""
        out: dict[str, Any] = {"metric": self.metric, "mode": self.mode, "epoch": self.epoch, "value": self.value}
        if self.note:
            out["note"] = self.note
        return out
