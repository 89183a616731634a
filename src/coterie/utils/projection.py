"""The L∞ projection shared by the attacks (:mod:`coterie.attacks`) and DVERGE's feature distillation.

Both craft inputs inside an ε-ball around a clean batch and inside the valid input box; keeping the projection in
one low-level place means they cannot drift apart.
"""

from __future__ import annotations

import torch
from torch import Tensor


def project_linf(x_adv: Tensor, x: Tensor, eps: float, low: float = 0.0, high: float = 1.0) -> Tensor:
    """Project ``x_adv`` onto the L∞ ball of radius ``eps`` around ``x``, then onto the box [low, high].

    Args:
        x_adv: candidate inputs (B, ...).
        x: the clean inputs the ball is centred on, same shape.
        eps: the L∞ radius (≥ 0).
        low, high: the input box (coterie models take natural-range inputs in [0, 1]).

    Returns:
        A new tensor of x's shape with ``|out − x| ≤ eps`` element-wise and values in [low, high].
    """
    return torch.min(torch.max(x_adv, x - eps), x + eps).clamp_(low, high)


def random_start(x: Tensor, eps: float, generator: torch.Generator | None = None) -> Tensor:
    """x + U(−ε, ε) noise, clipped to [0, 1] (noise drawn on the CPU from ``generator``, for reproducibility)."""
    noise = torch.rand(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    return (x + (2 * noise - 1) * eps).clamp(0.0, 1.0)
