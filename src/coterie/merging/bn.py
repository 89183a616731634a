"""BatchNorm statistics repair: reset and re-estimate running statistics of a merged network.

Blending two networks' weights changes every layer's activation statistics, so the blended running mean and
variance no longer describe the merged network (the "variance collapse" of interpolated networks). Re-estimating
them on training data — a forward pass in training mode, no gradient step — repairs that. The estimate is the
cumulative average over batches (PyTorch's ``momentum=None``): the mean of per-batch means and of per-batch
unbiased variances.

:func:`recompute` repairs one model; :func:`recompute_population` repairs P candidates stored as a (P, D) matrix
at once with ``torch.func.vmap`` (used by MeGA when candidates are scored with repaired statistics).
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from coterie.merging.data import DataArg, as_batches
from coterie.merging.state import StateLayout

_BN = nn.modules.batchnorm._BatchNorm


def has_batchnorm(model: nn.Module) -> bool:
    """Whether ``model`` has BatchNorm layers that track running statistics."""
    return any(isinstance(m, _BN) and m.track_running_stats for m in model.modules())


@torch.no_grad()
def recompute(model: nn.Module, data: DataArg, *, batch_size: int = 256, max_batches: int | None = None) -> nn.Module:
    """Reset and re-estimate the running statistics of every BatchNorm layer of ``model``, in place.

    Args:
        model: the network; its weights are untouched and its train/eval mode is restored afterwards.
        data: BatchNorm data (training split): ``(x, y)``, a ``DataLoader`` or ``Splits`` (uses ``train``).
            Test data is refused (see :mod:`coterie.merging.data`).
        batch_size: batch size when ``data`` is a pair of tensors.
        max_batches: use at most this many batches.

    Returns:
        ``model`` (for chaining). A model without BatchNorm is returned unchanged.
    """
    device = next(model.parameters()).device
    batches = as_batches(data, role="bn", batch_size=batch_size, device=device)[:max_batches]
    if not has_batchnorm(model):
        return model
    was_training = model.training
    saved = {}
    for m in model.modules():
        if isinstance(m, _BN) and m.track_running_stats:
            saved[m] = m.momentum
            m.reset_running_stats()
            m.momentum = None
    model.train()
    try:
        for x, _ in batches:
            model(x)
    finally:
        for m, mom in saved.items():
            m.momentum = mom
        model.train(was_training)
    return model


@torch.no_grad()
def recompute_population(
    layout: StateLayout, population: Tensor, batches: list[tuple[Tensor, Tensor]], *, chunk: int | None = None
) -> Tensor:
    """Re-estimate the BatchNorm running statistics of P candidates at once; writes them into ``population``.

    Equal, candidate by candidate, to :func:`recompute` on each built model (tests hold them to 1e-5).

    Args:
        layout: the models' state layout.
        population: candidates (P, D); their running-statistics entries are overwritten in place.
        batches: BatchNorm batches from :func:`coterie.merging.data.as_batches` (role ``bn``).
        chunk: candidates per vectorised call (default: all).

    Returns:
        ``population``.
    """
    if not layout.buffer_keys or not has_batchnorm(layout.template):
        return population
    template = copy.deepcopy(layout.template).to(population.device)
    for m in template.modules():
        if isinstance(m, _BN):
            m.momentum = 1.0  # running stats := this batch's stats; we average over batches ourselves
    template.train()
    stat_entries = [e for e in layout.entries if e.key.endswith(("running_mean", "running_var"))]
    p = population.shape[0]
    step = chunk or p

    def call(state: dict[str, Tensor], x: Tensor) -> Tensor:
        return functional_call(template, state, (x,))

    for start in range(0, p, step):
        sub = population[start : start + step]
        state = {k: v.clone() for k, v in layout.stacked(sub).items()}
        acc = {e.key: torch.zeros_like(state[e.key]) for e in stat_entries}
        for x, _ in batches:
            vmap(call, in_dims=(0, None), randomness="same")(state, x)
            for k in acc:
                acc[k] += state[k]
        for e in stat_entries:
            population[start : start + step, e.offset : e.offset + e.numel] = (acc[e.key] / len(batches)).reshape(
                sub.shape[0], -1
            )
    return population
