"""Trainer callbacks: hooks called after each epoch and at the end of ``fit``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from coterie.training.trainer import Trainer


class Callback:
    """Base class; override what you need."""

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        """After epoch ``epoch``, before its record is logged: a callback may add keys to ``record``.
        ``val_logits`` are the members' validation logits (N, M, C), or ``None`` without validation data."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """After the last epoch."""


class ValidationLogitsRecorder(Callback):
    """Keeps the members' validation logits (N, M, C) of every ``every``-th epoch, e.g. for MDS trajectories."""

    def __init__(self, every: int = 1) -> None:
        self.every = every
        self.epochs: list[int] = []
        self.logits: list[Tensor] = []

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        if val_logits is not None and epoch % self.every == 0:
            self.epochs.append(epoch)
            self.logits.append(val_logits.clone())
