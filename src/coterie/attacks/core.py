"""What every attack shares: the attacked head, the loss, L∞ projection, argument checks and the scoring rule.

A *target* is any ``nn.Module`` whose output is either logits (B, C) (a single model) or member logits (N, B, C)
(an :class:`~coterie.Ensemble`). The attacked head turns member outputs into a per-sample loss:

* ``mean_prob``  — the loss of the ensemble's mean probability p̄ = mean_i softmax(z_i) (CE: −log p̄_y; CW on
  log p̄), the output the ensemble actually reports under the ``mean`` rule;
* ``mean_logit`` — the loss of the mean logit z̄ = mean_i z_i;
* ``mean_ce``    — the mean over members of each member's own loss.

Losses: ``ce`` (cross-entropy, maximised) and ``cw`` (Carlini–Wagner margin max_{j≠y} z_j − z_y, maximised; on
``mean_prob`` it uses log p̄ as the logits). Scoring (:func:`predict`) uses a combination rule of
:func:`coterie.ensemble.combine`; seed 002 decides by majority ``vote``.

Attacks never change the target's train/eval mode; put BatchNorm/Dropout models in eval mode first.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from coterie.metrics.combine import combine
from coterie.utils.projection import project_linf

Head = Literal["mean_prob", "mean_logit", "mean_ce"]
LossName = Literal["ce", "cw"]
ScoreRule = Literal["vote", "mean", "geometric", "logit_mean"]
HEADS: tuple[str, ...] = ("mean_prob", "mean_logit", "mean_ce")
LOSSES: tuple[str, ...] = ("ce", "cw")


def member_logits(model: nn.Module, x: Tensor) -> Tensor:
    """The target's output as member logits (N, B, C); a single model's (B, C) becomes (1, B, C)."""
    out = model(x)
    if out.dim() == 2:
        return out.unsqueeze(0)
    if out.dim() != 3:
        raise ValueError(f"a target must return (B, C) or (N, B, C) logits, got shape {tuple(out.shape)}")
    return out


def _loss_on(scores: Tensor, y: Tensor, loss: LossName) -> Tensor:
    """Per-sample loss (B,) on class scores (B, C) treated as logits."""
    if loss == "ce":
        return F.cross_entropy(scores, y, reduction="none")
    true = scores.gather(1, y[:, None]).squeeze(1)
    other = scores.masked_fill(F.one_hot(y, scores.shape[1]).bool(), float("-inf")).amax(1)
    return other - true


def attack_loss(model: nn.Module, x: Tensor, y: Tensor, head: Head = "mean_prob", loss: LossName = "ce") -> Tensor:
    """The per-sample loss (B,) an attack ascends, for inputs x (B, ...) and labels y (B,)."""
    z = member_logits(model, x)
    if head == "mean_prob":
        log_pbar = torch.logsumexp(z.log_softmax(-1), dim=0) - torch.log(torch.tensor(float(z.shape[0])))
        return _loss_on(log_pbar, y, loss)
    if head == "mean_logit":
        return _loss_on(z.mean(0), y, loss)
    if head == "mean_ce":
        n, b, c = z.shape
        return _loss_on(z.reshape(n * b, c), y.repeat(n), loss).view(n, b).mean(0)
    raise ValueError(f"unknown head {head!r}; choose from {HEADS}")


def input_gradient(model: nn.Module, x: Tensor, y: Tensor, head: Head, loss: LossName) -> Tensor:
    """∇_x of the summed per-sample attack loss, shape of x (each sample's own gradient)."""
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(attack_loss(model, x, y, head, loss).sum(), x)
    return g


def project(x_adv: Tensor, x: Tensor, eps: float) -> Tensor:
    """Project onto the L∞ ball of radius eps around x, then onto [0, 1] (one implementation: ``project_linf``)."""
    return project_linf(x_adv, x, eps)


@torch.no_grad()
def predict(model: nn.Module, x: Tensor, rule: ScoreRule = "vote") -> Tensor:
    """Predicted labels (B,) under a combination rule (a single model: its arg-max)."""
    return combine(member_logits(model, x), rule).argmax(-1)


def check_args(x: Tensor, eps: float, head: str, loss: str, steps: int = 1, step_size: float | None = None) -> None:
    """Reject bad arguments before any work: ε outside [0, 1], unknown head/loss, steps < 1, negative step."""
    if not isinstance(eps, (int, float)) or not 0.0 <= float(eps) <= 1.0:
        raise ValueError(f"eps must be a number in [0, 1] (inputs live in [0, 1]), got {eps!r}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose from {HEADS}")
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose from {LOSSES}")
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if step_size is not None and step_size < 0:
        raise ValueError(f"step_size must be >= 0, got {step_size}")
    if x.numel() and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
        raise ValueError("attack inputs must lie in [0, 1] (coterie models take natural-range inputs)")
