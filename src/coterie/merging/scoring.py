"""Scoring a population of candidate weight vectors on fixed fitness data, batched.

MeGA evaluates every candidate of every generation on the validation set. The naive way —
``model.load_state_dict(candidate); evaluate(model)`` per candidate — copies every weight and runs P small
forwards. :class:`PopulationScorer` instead evaluates all P candidates from the (P, D) population matrix without
copying:

- ``fused`` (identical MLPs): activations are kept transposed, features × samples: the first layer of all P
  candidates is one product (P·H, D) @ (D, b) + bias, later layers are batched products (P, out, in) @ (P, in, b)
  (``baddbmm``), so every operand is contiguous and no activation is ever transposed or copied. The fitness set is
  walked ``rows`` (256) samples at a time, all candidates together; the weights (copied once per call) and the
  activations live in workspace buffers reused across chunks and calls (one flat buffer per role, dtype and
  device, grown to the largest size asked for), with ``out=`` products and the ReLU in place. Why: the FLOPs are
  those of the naive loop, so the only gains are efficiency — fresh multi-MB activations cost page faults on every
  call (glibc returns them to the OS), the sample-major (P, b, C) head product was slow (~15× the (P, C, b) one),
  and a 256-sample chunk keeps the activations (P × 100 × 256 floats, 2 MB) near the core; chunks of 64–336 rows
  time alike, the whole set at once is ~25% slower. Correct counts come from the label's logit equalling the
  ``amax`` over classes (a fast reduction, where ``argmax`` over the class dimension of the (P, C, b) layout is
  ~6× slower); a chunk with a tied maximum or a NaN falls back to ``argmax`` (first maximum, as the naive loop),
  so the accuracies are the naive loop's (the tests check equality; as with any batched evaluation, a summation
  order differing at the last bit could in principle flip an ulp-level near-tie).

  Measured (P = 20 MLPs 40-100-100-10, 1000 samples, one thread of a shared 2-core AMD EPYC (Zen 3) VM, MKL):
  fp32 GEMM tops out at ~60–75 GFLOP/s here (oneDNN and numpy's OpenBLAS are no faster on these shapes), so the
  600 MFLOP need ≥ ~9 ms; ``fused`` takes ~11–13 ms warm and ~18–23 ms in the interleaved benchmark (caches cold
  after the other methods), against ~25–36 ms for the naive loop over the whole set as one batch, ~37–50 ms at
  batch 256 and ~150–200 ms at batch 32 (Keras' default). Ratios in the benchmark: ~1.3–1.5× against the
  whole-set loop (~1.8× with warm caches; at most ~3× even at GEMM peak, since the FLOPs are identical), ~2×
  against batch 256, ~8.5× against batch 32; with two threads ~2.2×, ~4× and ~14.5×
  (``benchmarks/mega_population.py``; timings on this machine vary ±30% with load).
- ``vmap``: ``torch.func.vmap`` over ``functional_call`` with the candidates' state as stacked views of the
  population matrix (any architecture; BatchNorm in eval mode).
- ``loop``: ``functional_call`` per candidate (no copy, but one forward per candidate).
- ``naive``: ``load_state_dict`` + forward per candidate — the reference the benchmark compares against.

All methods return the same accuracies (tests check it). ``auto`` picks ``fused`` for MLPs, ``vmap`` for other
models on CUDA and ``loop`` for them on CPU; ``benchmarks/mega_population.py`` measures them side by side.
"""

from __future__ import annotations

import copy
import math
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from coterie.ensemble.fused_mlp import relu_mlp_supported
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
        rows: fitness samples per step of the ``fused`` method (all candidates at once); see the module docstring.

    Call ``scorer(population)`` with population (P, D) to get accuracies (P,).
    """

    def __init__(
        self,
        layout: StateLayout,
        batches: list[tuple[Tensor, Tensor]],
        method: ScoreMethod = "auto",
        chunk: int | None = None,
        rows: int = 256,
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
        if rows < 1:
            raise ValueError(f"need rows >= 1, got {rows}")
        self.rows = rows
        t = self.template
        self._relu = _is_mlp(t) and relu_mlp_supported(t)
        self._workspace: dict[tuple, Tensor] = {}

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

    def _buffer(self, name: str, shape: tuple[int, ...], like: Tensor) -> Tensor:
        """A contiguous workspace tensor of ``shape``, reused across chunks and calls (fresh multi-MB tensors cost
        page faults on every call, see the module docstring): one flat buffer per name, dtype and device, grown to
        the largest size asked for, so shorter tail chunks and other batch sizes reuse it and memory stays bounded.
        """
        numel = math.prod(shape)
        key = (name, like.dtype, like.device)
        buf = self._workspace.get(key)
        if buf is None or buf.numel() < numel:
            buf = self._workspace[key] = torch.empty(numel, dtype=like.dtype, device=like.device)
        return buf[:numel].view(shape)

    def _fused_weights(self, population: Tensor) -> list[tuple[Tensor, Tensor]]:
        """Per layer ``(weight, bias)``: the first layer as one (P·H, D) matrix and (P·H, 1) bias, later layers as
        (P, out, in) and (P, out, 1) — the layout of :meth:`_fused_t`."""
        t = self.template
        state = self.layout.stacked(population)
        names = [f"fc{k}" for k in range(1, t.depth + 1)] + ["head"]
        layers = []
        for k, name in enumerate(names):
            w, b = state[f"{name}.weight"], state[f"{name}.bias"]
            # copied once per call into workspace buffers: the products would copy strided views of the population
            # on every chunk, and a fresh copy costs page faults
            wc = self._buffer(f"w{k}", tuple(w.shape), w).copy_(w)
            bc = self._buffer(f"b{k}", (*b.shape, 1), b).copy_(b.unsqueeze(-1))
            layers.append((wc.view(-1, w.shape[-1]), bc.view(-1, 1)) if k == 0 else (wc, bc))
        return layers

    def _fused_t(self, layers: list[tuple[Tensor, Tensor]], x: Tensor, p: int) -> Tensor:
        """Transposed logits (P, C, B) of all candidates on x (B, D_in), in workspace buffers (overwritten by the
        next call). Features × samples layout: every layer is a plain (batched) product of contiguous operands."""
        t = self.template
        n = x.shape[0]
        xt = ((x - t.input_mean) / t.input_std).T  # (D_in, B); normalisation buffers are copied, shared by all
        h: Tensor | None = None
        for k, (w, b) in enumerate(layers):
            if k == 0:  # all candidates' first layers in one product: (P·H, D) @ (D, B) + bias → (P, H, B)
                out = self._buffer(f"h{k}", (w.shape[0], n), x)
                torch.addmm(b, w, xt, out=out)
                h = out.view(p, -1, n)
            else:
                out = self._buffer(f"h{k}", (p, w.shape[1], n), x)
                h = torch.baddbmm(b, w, h, out=out)
            if k < t.depth:
                h = h.relu_() if self._relu else getattr(t, f"act{k + 1}")(h)
        return h

    def _fused(self, population: Tensor, x: Tensor) -> Tensor:
        x = x.reshape(x.shape[0], -1)
        return self._fused_t(self._fused_weights(population), x, population.shape[0]).transpose(1, 2).clone()

    def _fused_score(self, population: Tensor, correct: Tensor, total_nll: Tensor | None) -> None:
        """Accumulate correct counts (and NLL sums) of all candidates, ``rows`` fitness samples at a time."""
        p = population.shape[0]
        layers = self._fused_weights(population)
        for x, y in self.batches:
            x = x.reshape(x.shape[0], -1)
            for s in range(0, x.shape[0], self.rows):
                xs, ys = x[s : s + self.rows], y[s : s + self.rows]
                out = self._fused_t(layers, xs, p)  # (P, C, b)
                yi = ys.view(1, 1, -1).expand(p, 1, -1)
                picked = out.gather(1, yi)  # (P, 1, b)
                top = out.amax(1, keepdim=True)  # (P, 1, b): a fast reduction, unlike argmax over dim 1
                # argmax == y  ⟺  the label's logit is the maximum, given no ties and no NaN; those are detected
                # (every row has exactly one element equal to its finite maximum) and fall back to argmax.
                if not bool(top.sum().isnan()) and int(torch.eq(out, top).sum()) == out.shape[0] * out.shape[2]:
                    correct += torch.eq(picked, top).sum((1, 2))
                else:
                    correct += torch.eq(out.argmax(1), ys).sum(-1)
                if total_nll is not None:
                    total_nll += (out.logsumexp(1, keepdim=True) - picked).sum((1, 2))

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
            if self.method == "fused":
                self._fused_score(
                    sub, correct[start : start + step], None if total_nll is None else total_nll[start : start + step]
                )
                continue
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
