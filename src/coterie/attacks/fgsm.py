"""Fast Gradient Sign Method (Goodfellow et al. 2015): x_adv = clip_[0,1](x + ε · sign(∇_x J(x, y)))."""

from __future__ import annotations

from torch import Tensor, nn

from coterie.attacks.core import Head, LossName, check_args, input_gradient, project


def fgsm(
    model: nn.Module, x: Tensor, y: Tensor, eps: float, *, head: Head = "mean_prob", loss: LossName = "ce"
) -> Tensor:
    """One signed-gradient step of size ε.

    Args:
        model: a model ((B, C) logits) or an Ensemble ((N, B, C) logits).
        x: clean inputs (B, ...) in [0, 1]; y: labels (B,).
        eps: L∞ radius in [0, 1].
        head, loss: what is ascended (see :mod:`coterie.attacks.core`).

    Returns:
        Adversarial inputs, same shape as x, in [0, 1] and within ε of x.
    """
    check_args(x, eps, head, loss)
    g = input_gradient(model, x, y, head, loss)
    return project(x + eps * g.sign(), x, eps).detach()
