"""Momentum Iterative Method (Dong et al. 2018), seed 002 Appendix A:

    g_{k+1} = μ · g_k + ∇_x J(x_k, y) / ‖∇_x J(x_k, y)‖₁,   x_{k+1} = Π_{ε, x}(x_k + α · sign(g_{k+1}))

Seed 002 §5.1: μ = 0.01, 50 steps of α = ε/5. With μ that small the momentum barely outlives one step and MIM is
practically BIM; the MIM paper's standard is μ = 1.0 (:data:`PAPER_DECAY`). ``decay`` chooses; the robustness
experiment takes it from its config (``attack.decay``, and ``attack.extra_mim_decays`` to report both).
"""

from __future__ import annotations

from torch import Tensor, nn

from coterie.attacks.bim import DEFAULT_STEPS, default_step_size, iterate
from coterie.attacks.core import Head, LossName, check_args

DEFAULT_DECAY = 0.01
#: μ of Dong et al. (2018), the MIM paper's standard decay.
PAPER_DECAY = 1.0


def mim(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    eps: float,
    *,
    steps: int = DEFAULT_STEPS,
    step_size: float | None = None,
    decay: float = DEFAULT_DECAY,
    head: Head = "mean_prob",
    loss: LossName = "ce",
) -> Tensor:
    """MIM: BIM whose step follows the sign of an L1-normalised gradient momentum with decay μ = ``decay``.

    Returns adversarial inputs (same shape as x (B, ...)) in [0, 1] within ε of x.
    """
    check_args(x, eps, head, loss, steps, step_size)
    alpha = default_step_size(eps) if step_size is None else step_size
    return iterate(model, x, y, eps, x, steps, alpha, head, loss, decay=decay)
