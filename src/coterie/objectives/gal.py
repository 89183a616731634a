"""GAL, the Gradient Alignment Loss of Kariyappa & Qureshi (2019), a baseline of seed 002.

    L_GAL = Σ_i CE_i + λ · mean_x log Σ_{i<j} exp(cos(∇_x CE_i(x), ∇_x CE_j(x)))

The input gradient of each member's loss is taken per sample (the batch loss is a sum of independent per-sample
terms, so one backward pass gives every sample's gradient); the log-sum-exp over member pairs is a smooth maximum of
the pairwise alignments. λ = 0.5 (the value used by seed 002's reimplementation, "following the approach mentioned
in the paper"). The joint term is split into per-member losses with
:func:`coterie.objectives.parl.shared_term_member_losses`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from coterie.objectives.base import Objective, ObjectiveOutput, register
from coterie.objectives.parl import ensemble_members, shared_term_member_losses, unit_rows


def member_loss_gradients(
    ensemble: nn.Module, x: Tensor, y: Tensor, create_graph: bool = False
) -> tuple[Tensor, Tensor]:
    """Member logits (N, B, C) and per-sample input gradients of each member's CE, (N, B, D)."""
    members = ensemble_members(ensemble)
    xs = [x.detach().clone().requires_grad_(True) for _ in members]
    logits = torch.stack([m(xi) for m, xi in zip(members, xs)])
    total = sum(F.cross_entropy(logits[i], y, reduction="sum") for i in range(len(members)))
    grads = torch.autograd.grad(total, xs, create_graph=create_graph)
    return logits, torch.stack([g.flatten(1) for g in grads])


def gradient_alignment(grads: Tensor) -> Tensor:
    """mean_b log Σ_{i<j} exp(cos(g_i(b), g_j(b))) for gradients (N, B, D), a scalar (needs N ≥ 2)."""
    n = grads.shape[0]
    u = unit_rows(grads)
    cos = torch.einsum("ibd,jbd->bij", u, u)  # (B, N, N)
    iu = torch.triu_indices(n, n, offset=1, device=grads.device)
    return torch.logsumexp(cos[:, iu[0], iu[1]], dim=-1).mean()


@register("gal")
class GAL(Objective):
    """Kariyappa & Qureshi (2019). Args: ``lam`` (λ, 0.5). Returns per-member losses (N,) and terms ``ce`` (N,),
    ``gal`` (the alignment term, scalar) and ``cos_mean`` (mean pairwise gradient cosine)."""

    def __init__(self, lam: float = 0.5) -> None:
        self.lam = float(lam)

    def config(self) -> dict[str, Any]:
        return {"lam": self.lam}

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        n = len(ensemble_members(ensemble))
        if n == 1 or self.lam == 0.0:
            logits = ensemble(x)
            logits = logits if logits.dim() == 3 else logits.unsqueeze(0)
            ce = torch.stack([F.cross_entropy(lg, y) for lg in logits])
            zero = torch.zeros((), device=x.device)
            return ObjectiveOutput(ce, {"ce": ce.detach(), "gal": zero, "cos_mean": zero}, logits.detach())
        logits, grads = member_loss_gradients(ensemble, x, y, create_graph=True)
        ce = torch.stack([F.cross_entropy(lg, y) for lg in logits])
        reg = self.lam * shared_term_member_losses(gradient_alignment, grads)
        with torch.no_grad():
            u = unit_rows(grads)
            cos = torch.einsum("ibd,jbd->bij", u, u)
            off = ~torch.eye(n, dtype=torch.bool, device=x.device)
            terms = {"ce": ce.detach(), "gal": gradient_alignment(grads), "cos_mean": cos[:, off].mean()}
        return ObjectiveOutput(losses=ce + reg, terms=terms, logits=logits.detach())
