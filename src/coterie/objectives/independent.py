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
