"""Scoring a population of candidate weight vectors on fixed fitness data, batched.

MeGA evaluates every candidate of every generation on the validation set. The naive way —
``model.load_state_dict(candidate); evaluate(model)`` per candidate — copies every weight and runs P small
forwards. :class:`PopulationScorer` instead evaluates all P candidates from the (P, D) population matrix without
copying:

- ``fused`` (identical MLPs): the first layer of all P candidates is one matrix product (B, D) @ (D, P·H); later
  layers are batched matrix products (``baddbmm``).
- ``vmap``: ``torch.func.vmap`` over ``functional_call`` with the candidates' state as stacked views of the
  population matrix (any architecture; BatchNorm in eval mode).
- ``loop``: ``functional_call`` per candidate (no copy, but one forward per candidate).
- ``naive``: ``load_state_dict`` + forward per candidate — the reference the benchmark compares against.

All methods return the same accuracies (tests check it). ``auto`` picks ``fused`` for MLPs, ``vmap`` for other
models on CUDA and ``loop`` for them on CPU; ``benchmarks/mega_population.py`` measures them side by side.
"""

from __future__ import annotations

import copy
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from coterie.merging.state import StateLayout

ScoreMethod = Literal["auto", "fused", "vmap", "loop", "naive"]
SCORE_METHODS: tuple[str, ...] = ("auto", "fused", "vmap", "loop", "naive")


def _is_mlp(model: nn.Module) -> bool:
    from coterie.models.mlp import MLP

    return type(model) is MLP


def choose_method(template: nn.Module, device: torch.device | str = "cpu") -> str:
    """The method ``auto`` resolves to: ``fused`` for an MLP; for other models ``vmap`` on CUDA and ``loop`` on CPU,
    where vectorised convolutions (grouped convolutions underneath) are slower than a loop (DESIGN.md, and
    ``benchmarks/mega_population.py``)."""
    if _is_mlp(template):
        return "fused"
    return "vmap" if torch.device(device).type == "cuda" else "loop"


class PopulationScorer:
    """Accuracy (and optionally mean NLL) of P candidates on fixed fitness batches.

    Args:
        layout: the state layout of the candidates' architecture (its template is never modified).
        batches: fitness batches ``[(x (B, ...), y (B,))]`` on the population's device.
        method: see the module docstring.
        chunk: candidates per vectorised call (bounds memory: activations are P × B × features); default all.

    Call ``scorer(population)`` with population (P, D) to get accuracies (P,).
    """

    def __init__(
        self,
        layout: StateLayout,
        batches: list[tuple[Tensor, Tensor]],
        method: ScoreMethod = "auto",
        chunk: int | None = None,
    ) -> None:
        if method not in SCORE_METHODS:
            raise ValueError(f"unknown scoring method {method!r}; choose from {SCORE_METHODS}")
        self.layout = layout
        self.batches = batches
        device = batches[0][0].device
        self.method = choose_method(layout.template, device) if method == "auto" else method
        if self.method == "fused" and not _is_mlp(layout.template):
            raise ValueError("the 'fused' scoring method needs MLP models; use 'vmap' or 'loop'")
        self.chunk = chunk
        self.template = copy.deepcopy(layout.template).to(device).eval()
        self.n = sum(int(x.shape[0]) for x, _ in batches)

    @torch.no_grad()
    def logits(self, population: Tensor, x: Tensor) -> Tensor:
        """Logits (P, B, C) of every candidate (P, D) on one input batch x (B, ...)."""
        if self.method == "fused":
            return self._fused(population, x)
        if self.method == "vmap":
            state = self.layout.stacked(population)
            return vmap(lambda s, xx: functional_call(self.template, s, (xx,)), in_dims=(0, None))(state, x)
        outs = []
        for i in range(population.shape[0]):
            if self.method == "naive":
                self.template.load_state_dict(self.layout.unflatten(population[i]))
                outs.append(self.template(x))
            else:
                outs.append(functional_call(self.template, self.layout.unflatten(population[i]), (x,)))
        return torch.stack(outs)

    def _fused(self, population: Tensor, x: Tensor) -> Tensor:
        t = self.template
        p = population.shape[0]
        state = self.layout.stacked(population)
        x = x.reshape(x.shape[0], -1)
        h = (x - t.input_mean) / t.input_std  # (B, D_in); normalisation buffers are copied, shared by all
        names = [f"fc{k}" for k in range(1, t.depth + 1)] + ["head"]
        relu = all(isinstance(getattr(t, f"act{k}"), nn.ReLU) for k in range(1, t.depth + 1))
        for k, name in enumerate(names):
            w, b = state[f"{name}.weight"], state[f"{name}.bias"]  # (P, out, in), (P, out)
            if k == 0:
                # all candidates' first layers in one product: (B, D) @ (D, P·H) + bias → (P, B, H)
                h = torch.addmm(b.reshape(-1), h, w.reshape(-1, w.shape[-1]).T)
                h = h.view(x.shape[0], p, -1).transpose(0, 1).contiguous()
            else:
                h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
            if k < t.depth:
                h = h.relu_() if relu else getattr(t, f"act{k + 1}")(h)
        return h

    @torch.no_grad()
    def score(self, population: Tensor, *, nll: bool = False) -> tuple[Tensor, Tensor | None]:
        """Accuracy (P,) of each candidate (P, D) on the fitness data, and with ``nll`` its mean negative
        log-likelihood (P,) (else ``None``)."""
        p = population.shape[0]
        step = self.chunk or p
        correct = torch.zeros(p, device=population.device)
        total_nll = torch.zeros(p, device=population.device) if nll else None
        for start in range(0, p, step):
            sub = population[start : start + step]
            for x, y in self.batches:
                out = self.logits(sub, x)  # (p', B, C)
                correct[start : start + step] += (out.argmax(-1) == y).sum(-1).float()
                if total_nll is not None:
                    picked = out.gather(-1, y.expand(out.shape[0], -1).unsqueeze(-1)).squeeze(-1)
                    total_nll[start : start + step] += (out.logsumexp(-1) - picked).sum(-1)
        return correct / self.n, (total_nll / self.n if total_nll is not None else None)

    def __call__(self, population: Tensor) -> Tensor:
        """Accuracy (P,) of each candidate (P, D) on the fitness data."""
        return self.score(population)[0]
