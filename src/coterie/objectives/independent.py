"""Independent training: every member minimises its own cross-entropy (β = 0 in seed 000 eq. 1)."""

from __future__ import annotations

from torch import Tensor, nn

from coterie.objectives.base import Objective, ObjectiveOutput, member_cross_entropy, register


@register("independent")
class Independent(Objective):
    """L_i = CE(y, p_i). Returns losses of shape (N,) for logits (N, B, C)."""

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        logits = ensemble(x)
        ce = member_cross_entropy(logits, y)
        return ObjectiveOutput(losses=ce, terms={"ce": ce.detach()}, logits=logits)
