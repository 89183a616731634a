"""Prediction over in-memory tensors or any data source, in evaluation mode and without autograd."""

from __future__ import annotations

import torch
from torch import Tensor

from coterie.ensemble.ensemble import Ensemble
from coterie.training.data_source import DataSource, TensorSource


def predict_logits(ensemble: Ensemble, x: Tensor, batch_size: int = 4096, device: torch.device | None = None) -> Tensor:
    """Member logits (N, M, C) for all M inputs, in evaluation mode and without autograd, batch by batch."""
    was_training = ensemble.training
    ensemble.eval()
    device = device or next(ensemble.parameters()).device
    try:
        with torch.no_grad():  # no graph: validation and prediction never differentiate these logits
            outs = [ensemble(x[i : i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)]
    finally:
        ensemble.train(was_training)
    return torch.cat(outs, 1)


def predict_source(
    ensemble: Ensemble, source: DataSource, batch_size: int = 4096, device: torch.device | None = None
) -> tuple[Tensor, Tensor]:
    """Member logits (N, M, C) and labels (M,) over every sample of a data source (see :func:`predict_logits`)."""
    if isinstance(source, TensorSource):
        return predict_logits(ensemble, source.x, batch_size, device), source.y
    was_training = ensemble.training
    ensemble.eval()
    device = device or next(ensemble.parameters()).device
    outs, ys = [], []
    try:
        with torch.no_grad():
            for xb, yb in source.eval_batches(batch_size):
                outs.append(ensemble(xb.to(device, non_blocking=True)).cpu())
                ys.append(yb)
    finally:
        ensemble.train(was_training)
    return torch.cat(outs, 1), torch.cat(ys)
