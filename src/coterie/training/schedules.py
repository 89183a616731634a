"""Learning-rate schedules as ``torch.optim.lr_scheduler`` schedulers, stepped once per epoch.

Each schedule is a :class:`torch.optim.lr_scheduler.LambdaLR` over a closed form of the epoch, so the learning rate
of epoch ``e`` is exactly ``base_lr * factor(e)`` — the numbers of the hand-written schedules this replaced, bit for
bit — and a resumed run (the scheduler's state is in the checkpoint) continues on the same curve. The closed forms
agree with torch's recursive classes to float rounding (``CosineAnnealingLR(T_max=epochs, eta_min=0)``,
``StepLR``, ``MultiStepLR``, ``LinearLR``; tests/unit/test_schedules.py holds them to it):

- ``constant``: 1.
- ``cosine``: ½(1 + cos(π·e/epochs)) (annealing to 0 over the run, as in seed 000's supplement).
- ``step``: gamma^⌊e/step_size⌋.
- ``multistep``: gamma^(number of milestones ≤ e) (milestones are absolute epochs, as papers quote them).
- linear warmup over ``warmup_epochs`` = W: the factor above times (e + 1)/(W + 1) for e < W (``LinearLR`` with
  ``start_factor = 1/(W+1)``, ``total_iters = W``), composed multiplicatively as ``ChainedScheduler`` does, so
  milestones and the cosine period stay counted from epoch 0.
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Sequence
from functools import partial
from typing import Literal

import torch
from torch.optim.lr_scheduler import LambdaLR

ScheduleName = Literal["constant", "cosine", "step", "multistep"]
SCHEDULES: tuple[str, ...] = ("constant", "cosine", "step", "multistep")


def check_milestones(name: str, milestones: Sequence[int]) -> None:
    """Raise ``ValueError`` unless ``milestones`` suit schedule ``name`` (``multistep`` needs a non-empty,
    strictly increasing list of positive epochs; the others take none)."""
    ms = list(milestones)
    if name == "multistep":
        if not ms:
            raise ValueError("schedule 'multistep' needs milestones, e.g. [100, 150]")
        if any(m < 1 for m in ms) or any(b <= a for a, b in itertools.pairwise(ms)):
            raise ValueError(f"milestones must be strictly increasing positive epochs, got {ms}")
    elif ms:
        raise ValueError(f"milestones apply to schedule 'multistep' only, not {name!r}")


def lr_factor(
    name: ScheduleName,
    epoch: int,
    epochs: int,
    step_size: int = 30,
    gamma: float = 0.1,
    milestones: Sequence[int] = (),
    warmup_epochs: int = 0,
) -> float:
    """Multiplier of the base learning rate at 0-based ``epoch`` (see the module docstring)."""
    if name == "constant":
        f = 1.0
    elif name == "cosine":
        f = 0.5 * (1.0 + math.cos(math.pi * epoch / max(1, epochs)))
    elif name == "step":
        f = gamma ** (epoch // max(1, step_size))
    elif name == "multistep":
        f = gamma ** bisect.bisect_right(list(milestones), epoch)
    else:
        raise ValueError(f"unknown schedule {name!r}; choose from {SCHEDULES}")
    if epoch < warmup_epochs:
        f *= (epoch + 1) / (warmup_epochs + 1)
    return f


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: ScheduleName = "constant",
    epochs: int = 1,
    step_size: int = 30,
    gamma: float = 0.1,
    milestones: Sequence[int] = (),
    warmup_epochs: int = 0,
) -> LambdaLR:
    """A per-epoch scheduler on ``optimizer``: after construction the learning rate is epoch 0's, and each
    ``scheduler.step()`` at the end of an epoch moves it to the next epoch's."""
    if name not in SCHEDULES:
        raise ValueError(f"unknown schedule {name!r}; choose from {SCHEDULES}")
    if warmup_epochs < 0:
        raise ValueError(f"warmup_epochs must be >= 0, got {warmup_epochs}")
    check_milestones(name, milestones)
    fn = partial(
        lr_factor,
        name,
        epochs=epochs,
        step_size=step_size,
        gamma=gamma,
        milestones=tuple(milestones),
        warmup_epochs=warmup_epochs,
    )
    return LambdaLR(optimizer, lambda e: fn(e))
