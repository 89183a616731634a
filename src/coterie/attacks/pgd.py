"""Projected Gradient Descent (Madry et al. 2018) with random restarts.

Each restart starts at a uniformly random point of the ε-ball (clipped to [0, 1]) and runs the BIM iteration. A
sample counts as robust only if every restart fails: after each restart the *judge* (by default the attacked model
itself; in the black-box protocol the target ensemble) scores the new examples, samples it misclassifies keep that
example and leave the pool, and the next restart attacks only the samples still standing. Samples that survive all
restarts return the last restart's example. Seed 002 §5.1: 50 steps of ε/5, 10 restarts.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from coterie.attacks.bim import DEFAULT_STEPS, default_step_size, iterate
from coterie.attacks.core import Head, LossName, ScoreRule, check_args, predict
from coterie.utils.projection import random_start

DEFAULT_RESTARTS = 10

__all__ = ["DEFAULT_RESTARTS", "pgd", "random_start"]


def pgd(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    steps: int = DEFAULT_STEPS,
    step_size: float | None = None,
    restarts: int = DEFAULT_RESTARTS,
    random_init: bool = True,
    head: Head = "mean_prob",
    loss: LossName = "ce",
    judge: nn.Module | None = None,
    rule: ScoreRule = "vote",
    generator: torch.Generator | None = None,
) -> Tensor:
    """PGD with ``restarts`` random restarts; without ``random_init`` and with one restart it is exactly BIM.

    Args:
        model: the attacked model or Ensemble (gradients come from it), in eval mode.
        x: clean inputs (B, ...) in [0, 1]; y: labels (B,).
        eps: L∞ radius in [0, 1].
        judge: the model whose ``rule`` prediction decides whether a restart succeeded (default ``model``).
        generator: seeds the random starts.

    Returns:
        Adversarial inputs (same shape as x) in [0, 1] within ε of x: per sample, the first successful restart's
        example, else the last restart's.
    """
    check_args(x, eps, head, loss, steps, step_size)
    if restarts < 1:
        raise ValueError(f"restarts must be >= 1, got {restarts}")
    alpha = default_step_size(eps) if step_size is None else step_size
    judge = model if judge is None else judge
    x = x.detach()
    out = x.clone()
    alive = torch.arange(x.shape[0], device=x.device)
    for r in range(restarts):
        xs, ys = x[alive], y[alive]
        start = random_start(xs, eps, generator) if random_init else xs
        adv = iterate(model, xs, ys, eps, start, steps, alpha, head, loss)
        out[alive] = adv
        if r + 1 == restarts:
            break
        fooled = predict(judge, adv, rule) != ys
        alive = alive[~fooled]
        if alive.numel() == 0:
            break
    return out
