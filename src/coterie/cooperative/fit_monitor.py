"""Validation MAE in years after every epoch, early stopping, a time limit and best-weights restore, as a Trainer
callback for the Co-DeepNet trainers (:mod:`coterie.cooperative.training`)."""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor, nn

from coterie.training.callbacks import Callback

if TYPE_CHECKING:
    from coterie.training.trainer import Trainer


class ValidationMAE(Callback):
    """Adds ``val_mae`` (years, through ``decode``) to each epoch's record; tracks the best epoch.

    Args:
        model: the network scored (its own forward, in evaluation mode).
        predict: ``predict(model, x) -> outputs (m,)`` as a numpy array.
        x_val, ages_val: validation inputs (m, L) and ages (m,).
        decode: network outputs (m,) → ages (m,).
        patience: stop after this many epochs without improvement (``None``: never).
        restore_best: load the best epoch's weights when fitting ends.
        max_seconds: stop once training has run this long (``None``: no limit).
        extra: adds keys to each record (e.g. the pair's active network and swaps so far).
        log_fn: receives each epoch's record.
    """

    def __init__(
        self,
        model: nn.Module,
        predict: Callable[[nn.Module, np.ndarray], np.ndarray],
        x_val: np.ndarray,
        ages_val: np.ndarray,
        decode: Callable[[np.ndarray], np.ndarray],
        patience: int | None,
        restore_best: bool,
        max_seconds: float | None,
        extra: Callable[[int], dict[str, Any]] | None = None,
        log_fn: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.model, self.predict, self.x_val, self.ages_val, self.decode = model, predict, x_val, ages_val, decode
        self.patience, self.restore_best, self.max_seconds, self.extra = patience, restore_best, max_seconds, extra
        self.log_fn = log_fn
        self.best, self.best_epoch, self.bad = math.inf, -1, 0
        self.best_state: dict[str, Tensor] | None = None
        self.records: list[dict[str, Any]] = []
        self.t0 = time.perf_counter()

    def val_mae(self) -> float:
        """Mean absolute error in years on the validation split (inf when not finite)."""
        mae = float(np.mean(np.abs(self.decode(self.predict(self.model, self.x_val)) - self.ages_val)))
        return mae if math.isfinite(mae) else math.inf

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        val = self.val_mae()
        record["val_mae"] = val
        rec = {"epoch": epoch, "train_loss": float(record["train_loss"][0]), "val_mae": val}
        rec.update(self.extra(epoch) if self.extra is not None else {})
        self.records.append(rec)
        if self.log_fn is not None:
            self.log_fn(rec)
        if val < self.best:
            self.best, self.best_epoch, self.bad = val, epoch, 0
            if self.restore_best:
                self.best_state = copy.deepcopy(self.model.state_dict())
        else:
            self.bad += 1
        out_of_time = self.max_seconds is not None and time.perf_counter() - self.t0 > self.max_seconds
        if (self.patience is not None and self.bad >= self.patience) or out_of_time:
            trainer.should_stop = True

    def finish(self) -> None:
        """Restore the best weights (when kept) and put the model in evaluation mode."""
        if self.best_state is not None:
            with torch.no_grad():
                self.model.load_state_dict(self.best_state)
        self.model.eval()
