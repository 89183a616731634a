"""Weight averaging: θ = Σ_i w_i θ_i over models of one architecture (no alignment, no BatchNorm repair)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from coterie.merging.state import StateLayout, check_compatible


def average(models: Sequence[nn.Module], weights: Sequence[float] | None = None) -> nn.Module:
    """A new model whose blended state is the weighted average of the models' states.

    Parameters and BatchNorm running statistics are averaged; non-float buffers (``num_batches_tracked``) and
    input-normalisation buffers are copied from ``models[0]``. Nothing is aligned or repaired: compose with
    :func:`coterie.merging.align` and :func:`coterie.merging.bn.recompute` for that.

    Args:
        models: K ≥ 1 models of identical architecture.
        weights: K non-negative weights (normalised to sum 1); default uniform.

    Raises:
        ArchitectureMismatchError: the models differ (the message names the first mismatching tensor).
        ValueError: wrong number of weights, negative weights, or weights summing to 0.
    """
    check_compatible(models)
    k = len(models)
    w = torch.full((k,), 1.0 / k) if weights is None else torch.as_tensor(list(weights), dtype=torch.float64)
    if w.shape != (k,):
        raise ValueError(f"need {k} weights, got {w.numel()}")
    if bool((w < 0).any()) or float(w.sum()) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {w.tolist()}")
    w = (w / w.sum()).to(torch.float32)
    layout = StateLayout(models[0])
    flats = torch.stack([layout.flatten(m) for m in models])  # (K, D)
    merged = (w.to(flats.device).unsqueeze(1) * flats).sum(0)
    return layout.build(merged)
