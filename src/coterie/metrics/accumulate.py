"""Accumulating metric: collect member logits batch by batch, compute once (torchmetrics-style update/compute)."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from coterie.metrics.summary import ensemble_summary


class EnsembleMetrics:
    """``update(logits (N, B, C), y (B,))`` per batch, then ``compute()`` → :func:`ensemble_summary` of all.

    Logits are stored on the CPU, so memory is O(N · total samples · C).
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self._logits: list[Tensor] = []
        self._y: list[Tensor] = []

    def update(self, logits: Tensor, y: Tensor) -> None:
        if logits.dim() != 3 or logits.shape[1] != y.shape[0]:
            raise ValueError(
                f"expected logits (N, B, C) matching labels (B,), got {tuple(logits.shape)}, {tuple(y.shape)}"
            )
        self._logits.append(logits.detach().float().cpu())
        self._y.append(y.detach().cpu())

    def logits(self) -> tuple[Tensor, Tensor]:
        """All accumulated logits (N, total, C) and labels (total,)."""
        if not self._logits:
            raise RuntimeError("no batches accumulated")
        return torch.cat(self._logits, 1), torch.cat(self._y)

    def compute(self) -> dict[str, Any]:
        logits, y = self.logits()
        return ensemble_summary(logits, y)
