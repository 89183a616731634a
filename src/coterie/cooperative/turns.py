"""Co-DeepNet's turn-taking as a Trainer objective: the active network learns, its partner lends features.

The pair is the single member of an Ensemble. Which network is active is a pure function of the training position —
iteration ``t = epoch · batches_per_epoch + k`` (``unit="iterations"``) or the epoch (``"epochs"``): network
``(t // rate) % 2`` — so a resumed run takes the same turns. The inactive network runs in evaluation mode under
``torch.no_grad`` and gets no gradient, so the Trainer's single optimiser (Adam, per-parameter state) leaves it
untouched during its partner's turn, exactly as one optimiser per network would. Distillation starts once the
partner has had a turn of its own (before that its predictions are untrained noise).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

from coterie.objectives.base import Objective, ObjectiveOutput

LossFn = Callable[[Tensor, Tensor], Tensor]


class PairTurns(Objective):
    """Loss (1,) of the active network of a :class:`~coterie.cooperative.CoDeepNet` on a batch.

    Args:
        loss_fn: ``loss_fn(ŷ (B, 1), y (B, 1)) -> scalar``.
        rate: iterations (or epochs) per turn.
        unit: ``iterations`` or ``epochs``.
        batches_per_epoch: the Trainer's steps per epoch (to number iterations across epochs).
        distill_weight: λ of the distillation term (pairs whose transfer distils).
    """

    name = "codeepnet-turns"

    def __init__(
        self,
        loss_fn: LossFn,
        rate: int,
        unit: Literal["iterations", "epochs"],
        batches_per_epoch: int,
        distill_weight: float = 0.5,
    ) -> None:
        if rate < 1:
            raise ValueError("transmission_rate must be >= 1")
        if unit not in ("iterations", "epochs"):
            raise ValueError(f"transmission_unit must be 'iterations' or 'epochs', got {unit!r}")
        self.loss_fn, self.rate, self.unit = loss_fn, int(rate), unit
        self.batches_per_epoch, self.distill_weight = int(batches_per_epoch), float(distill_weight)
        self.epoch, self.step = 0, 0

    def on_epoch_start(self, epoch: int, ensemble: nn.Module, generator: torch.Generator) -> None:
        self.epoch, self.step = epoch, 0

    def position(self) -> int:
        """The current position in turn units (global iteration, or epoch)."""
        return self.epoch * self.batches_per_epoch + self.step if self.unit == "iterations" else self.epoch

    def swaps(self, epochs_done: int) -> int:
        """Role swaps after ``epochs_done`` whole epochs."""
        done = epochs_done * self.batches_per_epoch if self.unit == "iterations" else epochs_done
        return done // self.rate

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        pair = ensemble.members[0]  # type: ignore[index]
        pos = self.position()
        active = (pos // self.rate) % 2
        partner_had_turn = active == 1 or pos >= self.rate  # network 0 starts, network 1 from the first swap
        pair.nets[active].train()
        pair.nets[1 - active].eval()
        distill = bool(pair.distills) and partner_had_turn
        out, partner = pair.active_outputs(x, active, partner_prediction=distill)
        target = y.reshape(-1, 1).to(out.dtype)
        loss = self.loss_fn(out, target)
        if distill and partner is not None:
            lam = self.distill_weight
            loss = (1 - lam) * loss + lam * self.loss_fn(out, partner)
        with torch.no_grad():
            pair.active.fill_(active)
        self.step += 1
        return ObjectiveOutput(losses=loss.reshape(1))


class BothLearn(Objective):
    """Loss (1,) of two *independent* networks trained side by side: ``L(ŷ₀, y) + L(ŷ₁, y)``.

    The pair must share nothing (``transfer="none"``), so the sum is separable: each network's gradient is that of its
    own loss, and with Adam (per-parameter state) the result equals two separate trainings on the same batch order.
    Unlike :class:`PairTurns`, both networks learn on every batch (twice the updates per network at equal epochs).
    """

    name = "codeepnet-independent"

    def __init__(self, loss_fn: LossFn) -> None:
        self.loss_fn = loss_fn

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        pair = ensemble.members[0]  # type: ignore[index]
        if pair.shares_features or pair.distills:
            raise ValueError(f"independent training needs transfer 'none', got {pair.transfer!r}")
        pair.nets.train()
        outs = pair.forward_members(x)  # (2, B, 1)
        target = y.reshape(-1, 1).to(outs.dtype)
        loss = self.loss_fn(outs[0], target) + self.loss_fn(outs[1], target)
        return ObjectiveOutput(losses=loss.reshape(1))
