"""Prediction over in-memory tensors or any data source, in evaluation mode and without autograd."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
from torch import Tensor, nn

from coterie.ensemble.ensemble import Ensemble
from coterie.training.data_source import DataSource, TensorSource


class _KeepLabels:
    """Iterates the inputs of ``(x, y)`` batches and keeps the labels (``labels``) for the caller."""

    def __init__(self, batches: Iterable[tuple[Tensor, Tensor]]) -> None:
        self.batches = batches
        self.labels: list[Tensor] = []

    def __iter__(self) -> Iterator[Tensor]:
        for xb, yb in self.batches:
            self.labels.append(yb)
            yield xb


def predict_outputs(
    model: nn.Module,
    inputs: Iterable[Tensor],
    device: torch.device | str | None = None,
    dim: int = 0,
    out_device: torch.device | str | None = "cpu",
) -> Tensor:
    """The one evaluation loop: ``model``'s outputs for each input batch, concatenated along ``dim``.

    Runs in evaluation mode and without autograd (no graph: evaluation and prediction never differentiate these
    outputs) and restores the model's training mode. Batches go to ``device`` (default: the model's); outputs to
    ``out_device`` (``None``: left where the model put them). ``dim`` is the sample axis: 0 for a plain model's
    (B, ...), 1 for an ensemble's (N, B, C).
    """
    was_training = model.training
    model.eval()
    device = device or next(model.parameters()).device
    target = device if out_device is None else out_device
    try:
        with torch.no_grad():
            outs = [model(xb.to(device, non_blocking=True)).to(target) for xb in inputs]
    finally:
        model.train(was_training)
    return torch.cat(outs, dim)


def predict_logits(ensemble: Ensemble, x: Tensor, batch_size: int = 4096, device: torch.device | None = None) -> Tensor:
    """Member logits (N, M, C) for all M inputs, in evaluation mode and without autograd, batch by batch."""
    return predict_outputs(ensemble, x.split(batch_size), device, dim=1)


def predict_source(
    ensemble: Ensemble, source: DataSource, batch_size: int = 4096, device: torch.device | None = None
) -> tuple[Tensor, Tensor]:
    """Member logits (N, M, C) and labels (M,) over every sample of a data source (see :func:`predict_logits`)."""
    if isinstance(source, TensorSource):
        return predict_logits(ensemble, source.x, batch_size, device), source.y
    inputs = _KeepLabels(source.eval_batches(batch_size))
    return predict_outputs(ensemble, inputs, device, dim=1), torch.cat(inputs.labels)
