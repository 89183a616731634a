"""ADP, the Adaptive Diversity Promoting regulariser (Pang et al., ICML 2019), a baseline of seed 002.

    L_ADP = Σ_i CE_i − α · H(p̄) − β · log det(M Mᵀ + δ I)

with p̄ = mean_i p_i the ensemble prediction, H its Shannon entropy, and M (N × (C−1)) the members' non-true-class
probability vectors, each L2-normalised (row i = p_i without the true class, divided by its norm). The log-det is
the ensemble diversity: the squared volume spanned by the normalised non-maximal predictions. Each term is taken
per sample and averaged over the batch.

Source: the official ADP trainer that seed 002's comparison uses (DVERGE repository, ``train/train_adp.py``,
``ADP_Trainer.train``), which this module follows term by term: ``ce_loss`` is the *sum* of the member
cross-entropies (each a batch mean), ``ensemble_entropy`` is ``Σ_c −p̄_c log(p̄_c + log_offset)`` averaged over
the batch, ``log_det`` is ``logdet(M Mᵀ + det_offset · I)`` averaged over the batch, and the loss is
``ce_loss − alpha · ensemble_entropy − beta · log_det`` minimised by one optimiser over all members. Defaults are
the official ones: α = 2, β = 0.5 (``arguments.py``, ``adp_train_args``), δ = ``det_offset`` = 1e-6 and
``log_offset`` = 1e-20 (``ADP_Trainer.__init__``). The official run uses plain ReLU members, no extra noise, and
Adam (lr 1e-3, weight decay 1e-4, eps 1e-7) with MultiStepLR; coterie leaves optimisation to the Trainer.

The joint terms are split into per-member losses with
:func:`coterie.objectives.common.shared_term_member_losses` (shares sum to L_ADP; each member receives its exact
gradient, as under the official single optimiser).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from coterie.objectives.base import Objective, ObjectiveOutput, member_cross_entropy, register
from coterie.objectives.common import shared_term_member_losses

LOG_OFFSET = 1e-20


def ensemble_entropy(probs: Tensor) -> Tensor:
    """Mean over the batch of H(mean_i p_i): probs (N, B, C) → scalar."""
    p = probs.mean(0)
    return -(p * torch.log(p + LOG_OFFSET)).sum(-1).mean()


def log_det_diversity(probs: Tensor, y: Tensor, det_offset: float = 1e-6) -> Tensor:
    """Mean over the batch of log det(M Mᵀ + δ I), M the normalised non-true-class predictions: (N, B, C) → scalar."""
    n, b, c = probs.shape
    keep = torch.ones(b, c, dtype=torch.bool, device=probs.device)
    keep[torch.arange(b, device=probs.device), y] = False
    rest = probs.permute(1, 0, 2)[keep.unsqueeze(1).expand(b, n, c)].reshape(b, n, c - 1)
    m = rest / rest.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    gram = m @ m.transpose(1, 2) + det_offset * torch.eye(n, device=probs.device, dtype=probs.dtype)
    return torch.logdet(gram).mean()


@register("adp")
class ADP(Objective):
    """Pang et al. (2019). Args: ``alpha`` (entropy weight, 2.0), ``beta`` (log-det weight, 0.5), ``det_offset``
    (δ, 1e-6). Returns per-member losses (N,) and terms ``ce`` (N,), ``entropy``, ``log_det`` (scalars)."""

    def __init__(self, alpha: float = 2.0, beta: float = 0.5, det_offset: float = 1e-6) -> None:
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.det_offset = float(det_offset)

    def config(self) -> dict[str, Any]:
        return {"alpha": self.alpha, "beta": self.beta, "det_offset": self.det_offset}

    def regulariser(self, probs: Tensor, y: Tensor) -> Tensor:
        """−α H(p̄) − β log det(M Mᵀ + δ I) for member probabilities (N, B, C), a scalar."""
        return -self.alpha * ensemble_entropy(probs) - self.beta * log_det_diversity(probs, y, self.det_offset)

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        logits = ensemble(x)
        ce = member_cross_entropy(logits, y)
        probs = logits.softmax(-1)
        reg = shared_term_member_losses(lambda p: self.regulariser(p, y), probs)
        with torch.no_grad():
            ent = ensemble_entropy(probs)
            ld = log_det_diversity(probs, y, self.det_offset) if logits.shape[0] > 1 else logits.new_zeros(())
        return ObjectiveOutput(
            losses=ce + reg, terms={"ce": ce.detach(), "entropy": ent, "log_det": ld}, logits=logits.detach()
        )
