"""Optimisers and learning-rate schedules shared by every objective."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal, get_args

import torch
from torch import nn

from coterie.training.packed_sgd import PackedSGD

OptimizerName = Literal["sgd", "adam", "adamw"]
OPTIMIZERS: tuple[str, ...] = get_args(OptimizerName)
ScheduleName = Literal["constant", "cosine", "step"]


def build_optimizer(
    params: Iterable[nn.Parameter],
    name: OptimizerName = "sgd",
    lr: float = 0.01,
    momentum: float = 0.9,
    weight_decay: float = 0.0,
    nesterov: bool = False,
    betas: tuple[float, float] = (0.9, 0.999),
) -> torch.optim.Optimizer:
    """One optimiser over all updating members' parameters.

    SGD and Adam act elementwise, so one optimiser over every member equals N per-member optimisers with the same
    settings, while its fused (or ``foreach``) kernels update all members in a few operations.
    """
    check_optimizer_name(name)
    params = list(params)
    if not params:
        raise ValueError("no trainable parameters: every member is frozen")
    impl = _implementation(params)
    if name == "sgd":
        # PackedSGD is SGD(fused=True) with one kernel call per packed layer where members are packed
        sgd = PackedSGD if impl.get("fused") else torch.optim.SGD
        return sgd(params, lr=lr, momentum=momentum, weight_decay=weight_decay, nesterov=nesterov, **impl)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=betas, weight_decay=weight_decay, **impl)
    return torch.optim.AdamW(params, lr=lr, betas=betas, weight_decay=weight_decay, **impl)


def check_optimizer_name(name: str) -> str:
    """``name`` when it is one of :data:`OPTIMIZERS`; else the ``ValueError`` naming the allowed ones is raised."""
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; choose {', '.join(OPTIMIZERS)}")
    return name


def _implementation(params: list[nn.Parameter]) -> dict[str, bool]:
    """``fused=True`` (one kernel over all parameters) where torch has fused kernels — floating-point parameters on
    CPU or CUDA — else ``foreach=True``. On CPU, ``foreach`` falls back to one small kernel per tensor and per
    operation: measured here, the fused SGD step over 10 MLP members is 3× faster (0.38 vs 1.22 ms), about 10 % of a
    co-learning step; the two agree to float rounding."""
    if all(p.device.type in ("cpu", "cuda") and p.dtype in (torch.float32, torch.float64) for p in params):
        return {"fused": True}
    return {"foreach": True}


def schedule_factor(name: ScheduleName, epoch: int, epochs: int, step_size: int = 30, gamma: float = 0.1) -> float:
    """Multiplier of the base learning rate at ``epoch`` (0-based).

    ``constant``: 1. ``cosine``: ½(1 + cos(π·epoch/epochs)) (cosine annealing to 0, as in seed 000's supplement).
    ``step``: gamma^(epoch // step_size).
    """
    if name == "constant":
        return 1.0
    if name == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * epoch / max(1, epochs)))
    if name == "step":
        return gamma ** (epoch // max(1, step_size))
    raise ValueError(f"unknown schedule {name!r}; choose constant, cosine or step")


def set_lr(optimizer: torch.optim.Optimizer, base_lr: float, factor: float) -> float:
    """Set every parameter group's learning rate to ``base_lr * factor``; returns it."""
    lr = base_lr * factor
    for g in optimizer.param_groups:
        g["lr"] = lr
    return lr
