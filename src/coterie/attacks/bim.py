"""Basic Iterative Method (Kurakin et al. 2017) and the iteration it shares with MIM and PGD.

    x_{k+1} = Π_{ε, x}(x_k + α · sign(g_k)),  g_k = ∇_x J(x_k, y)

Π projects onto the L∞ ball around the clean x and onto [0, 1]. Seed 002 §5.1: 50 steps of size α = ε/5.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from coterie.attacks.core import Head, LossName, check_args, input_gradient, project

DEFAULT_STEPS = 50


def default_step_size(eps: float) -> float:
    """Seed 002 §5.1: α = ε / 5."""
    return eps / 5.0


def iterate(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    x_start: Tensor,
    steps: int,
    step_size: float,
    head: Head,
    loss: LossName,
    decay: float | None = None,
) -> Tensor:
    """``steps`` signed-gradient ascent steps from ``x_start``, projected around x; with ``decay`` = μ the sign is
    taken of the momentum g ← μ g + ∇/‖∇‖₁ (per-sample L1 norm, MIM). Returns the final iterate (detached)."""
    x = x.detach()
    x_adv = x_start.detach()
    momentum = torch.zeros_like(x) if decay is not None else None
    for _ in range(steps):
        g = input_gradient(model, x_adv, y, head, loss)
        if momentum is not None:
            l1 = g.abs().flatten(1).sum(1).clamp_min(1e-12).view(-1, *([1] * (g.dim() - 1)))
            momentum = decay * momentum + g / l1
            g = momentum
        x_adv = project(x_adv + step_size * g.sign(), x, eps)
    return x_adv.detach()


def bim(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    steps: int = DEFAULT_STEPS,
    step_size: float | None = None,
    head: Head = "mean_prob",
    loss: LossName = "ce",
) -> Tensor:
    """BIM from the clean input: ``steps`` steps of size ``step_size`` (default ε/5) inside the ε-ball.

    Args:
        model: a model ((B, C) logits) or an Ensemble ((N, B, C) logits), in eval mode.
        x: clean inputs (B, ...) in [0, 1]; y: labels (B,).
        eps: L∞ radius in [0, 1].

    Returns:
        Adversarial inputs (same shape as x) in [0, 1] within ε of x.
    """
    check_args(x, eps, head, loss, steps, step_size)
    alpha = default_step_size(eps) if step_size is None else step_size
    return iterate(model, x, y, eps, x, steps, alpha, head, loss)
