"""Independent training: every member minimises its own cross-entropy (β = 0 in seed 000 eq. 1)."""

from __future__ import annotations

from torch import Tensor, nn

from coterie.objectives.base import Objective, ObjectiveOutput, register
from coterie.objectives.colearning_loss import colearning_loss


@register("independent")
class Independent(Objective):
    """L_i = CE(y, p_i). Returns losses of shape (N,) for logits (N, B, C)."""

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        logits = ensemble(x)
        losses, ce, _, _ = colearning_loss(logits, y)  # β = 0: cross-entropies, closed-form backward
        return ObjectiveOutput(losses=losses, terms={"ce": ce}, logits=logits)

    supports_per_member = True

    def per_member(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        """Member i's cross-entropy on its own batch: x (N, B, ...), y (N, B) → losses (N,)."""
        logits = ensemble.forward_per_member(x)
        losses, ce, _, _ = colearning_loss(logits, y)
        return ObjectiveOutput(losses=losses, terms={"ce": ce}, logits=logits)
