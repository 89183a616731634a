"""Regression objectives: every member fits real-valued targets on its own (no interaction between members).

Used where a single network or independent networks are trained on real targets by the Trainer (a single network is
an Ensemble of one): the learned-diversity physics tasks (seed 004, eqs 5–6: squared error summed over the state's
coordinates, averaged over samples) and Co-DeepNet's age regression (seed 001: L1, MSE or Huber on z-scored ages).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from torch import Tensor, nn

from coterie.objectives.base import Objective, ObjectiveOutput

RegressionLoss = Literal["sse", "mse", "l1", "huber"]
REGRESSION_LOSSES: tuple[str, ...] = ("sse", "mse", "l1", "huber")


def _elementwise(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    if name in ("sse", "mse"):
        return lambda a, b: (a - b) ** 2
    if name == "l1":
        return lambda a, b: (a - b).abs()
    if name == "huber":
        return lambda a, b: nn.functional.smooth_l1_loss(a, b, reduction="none")
    raise ValueError(f"unknown regression loss {name!r}; choose from {REGRESSION_LOSSES}")


def member_regression_loss(out: Tensor, y: Tensor, loss: RegressionLoss = "mse") -> Tensor:
    """Per-member losses (N,) of outputs (N, B, D) against targets (B, D), (B,) with D = 1, or per member (N, B, D).

    ``sse``: Σ over D, mean over B; ``mse`` / ``l1`` / ``huber`` (smooth L1, β = 1): mean over B and D — for one
    member these equal ``torch.nn.functional.mse_loss`` / ``l1_loss`` / ``smooth_l1_loss``.
    """
    target = y.to(out.dtype)
    if target.dim() == out.dim() - 2 and out.shape[-1] == 1:  # (B,) targets of one output
        target = target.unsqueeze(-1)
    per = _elementwise(loss)(out, target.expand_as(out))
    if loss == "sse":
        return per.sum(-1).mean(-1)
    return per.flatten(1).mean(1)


class Regression(Objective):
    """L_i = loss(f_i(x), y) for each member i (see :func:`member_regression_loss`); losses (N,) for outputs
    (N, B, D). Supports ``data_order: per_member`` (member i on its own batch).

    Not in the objective registry: ``experiment: train`` evaluates classifiers; the experiments that regress (ldnn,
    codeepnet) construct it directly.
    """

    name = "regression"
    supports_per_member = True

    def __init__(self, loss: RegressionLoss = "mse") -> None:
        if loss not in REGRESSION_LOSSES:
            raise ValueError(f"unknown regression loss {loss!r}; choose from {REGRESSION_LOSSES}")
        self.loss = loss

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        out = ensemble(x)
        losses = member_regression_loss(out, y, self.loss)
        return ObjectiveOutput(losses=losses, logits=out)

    def per_member(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        """Member i's loss on its own batch: x (N, B, ...), y (N, B, ...) → losses (N,)."""
        out = ensemble.forward_per_member(x)
        losses = member_regression_loss(out, y, self.loss)
        return ObjectiveOutput(losses=losses, logits=out)

    def config(self) -> dict[str, str]:
        return {"loss": self.loss}
