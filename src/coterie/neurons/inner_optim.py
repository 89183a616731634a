"""Differentiable inner optimisers for meta-learning (seed 004, Algorithm 1's inner loop).

The exact meta-gradient differentiates through the inner updates, so they are written as functions of tensors
(θ_{t+1} = update(θ_t, ∇θ L_t, state)) rather than as ``torch.optim`` steps, which act in place and outside autograd.
``sgd`` is Algorithm 1's literal step; ``adam`` is the optimiser the learned-diversity arms are trained with, so
the activations are meta-learned for the training they will actually get. Both equal their ``torch.optim``
counterparts step for step (checked in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

InnerOptimizerName = Literal["sgd", "adam"]
INNER_OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")
State = dict[str, dict[str, Tensor]]


def _safe_sqrt(v: Tensor) -> Tensor:
    """√v with a zero (not infinite) derivative at v = 0, where a parameter has had no gradient yet."""
    positive = v > 0
    return torch.where(positive, v.clamp_min(torch.finfo(v.dtype).tiny).sqrt(), torch.zeros_like(v))


@dataclass
class InnerOptimizer:
    """A functional optimiser over a dict of named tensors.

    Attributes:
        name: ``sgd`` (θ ← θ − lr·g) or ``adam`` (bias-corrected, as ``torch.optim.Adam`` without weight decay).
        lr: the inner rate R_I.
        betas, eps: Adam's settings.
    """

    name: InnerOptimizerName = "adam"
    lr: float = 1e-2
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.name not in INNER_OPTIMIZERS:
            raise ValueError(f"unknown inner optimizer {self.name!r}; choose from {INNER_OPTIMIZERS}")

    def init(self, params: dict[str, Tensor]) -> State:
        """A fresh state for ``params`` (empty for SGD; zero moments and step counts for Adam)."""
        if self.name == "sgd":
            return {}
        return {
            k: {"m": torch.zeros_like(v), "v": torch.zeros_like(v), "t": torch.zeros((), dtype=v.dtype)}
            for k, v in params.items()
        }

    def step(
        self, params: dict[str, Tensor], grads: dict[str, Tensor | None], state: State
    ) -> tuple[dict[str, Tensor], State]:
        """One update; differentiable when ``grads`` carry a graph. Parameters without a gradient stay put."""
        new_p: dict[str, Tensor] = {}
        new_s: State = {}
        b1, b2 = self.betas
        for k, p in params.items():
            g = grads.get(k)
            if g is None:
                new_p[k] = p
                if k in state:
                    new_s[k] = state[k]
                continue
            if self.name == "sgd":
                new_p[k] = p - self.lr * g
                continue
            st = state[k]
            t = st["t"] + 1
            m = b1 * st["m"] + (1 - b1) * g
            v = b2 * st["v"] + (1 - b2) * g * g
            m_hat = m / (1 - b1 ** float(t))
            v_hat = v / (1 - b2 ** float(t))
            new_p[k] = p - self.lr * m_hat / (_safe_sqrt(v_hat) + self.eps)
            new_s[k] = {"m": m, "v": v, "t": t}
        return new_p, new_s

    @staticmethod
    def detach(state: State) -> State:
        """The state cut from the graph (truncated back-propagation)."""
        return {k: {n: t.detach() for n, t in s.items()} for k, s in state.items()}

    def torch_optimizer(self, params: list[Tensor]) -> torch.optim.Optimizer:
        """The equivalent in-place ``torch.optim`` optimiser (for the first-order method)."""
        if self.name == "sgd":
            return torch.optim.SGD(params, lr=self.lr)
        return torch.optim.Adam(params, lr=self.lr, betas=self.betas, eps=self.eps)
