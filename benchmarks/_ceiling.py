"""A ceiling for (a): the co-learning step of N identical ReLU MLPs written by hand, with no autograd at all.

Stacked weights (N, out, in) as plain tensors, the forward products, eq. (1)'s closed-form logit gradient
(``coterie.objectives.colearning_loss``), the backward products and one ``torch._fused_sgd_`` call per layer: the
same math as coterie's step (tests/unit/test_benchmark_ceiling.py checks one update against it), minus everything
a library pays to be a library — autograd's graph and engine, one leaf ``nn.Parameter`` per member and layer with
its gradient, the optimiser's bookkeeping, the objective's logged terms. No implementation of the step that keeps
that interface can be faster than this, so ``competent loop ÷ this`` bounds the ratio any such step can reach.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class HandwrittenStep:
    """The step on stacked copies of ``members``' parameters (members with shared input statistics, β scalar), SGD
    lr 0.01, momentum 0.9, weight decay 5e-4 as every benchmarked method. ``params`` maps parameter names to the
    stacked (N, ...) tensors it trains."""

    def __init__(self, members: list[nn.Module], beta: float, x: Tensor, y: Tensor) -> None:
        n, b = len(members), x.shape[0]
        first = members[0]
        layers = [f"fc{k}" for k in range(1, first.depth + 1)] + ["head"]
        with torch.no_grad():
            self.ws = [torch.stack([m.get_parameter(f"{k}.weight") for m in members]).clone() for k in layers]
            self.bs = [torch.stack([m.get_parameter(f"{k}.bias") for m in members]).clone() for k in layers]
            self.h0 = ((x.reshape(b, -1) - first.input_mean) / first.input_std).t()  # (D, B), fixed across steps
        self.params = dict(zip([f"{k}.weight" for k in layers] + [f"{k}.bias" for k in layers], self.ws + self.bs))
        self.moms = [torch.zeros_like(t) for t in self.ws + self.bs]
        self.beta = torch.full((n, n), float(beta), device=x.device).fill_diagonal_(0.0)
        self.s = (self.beta.sum(1) + 1).view(n, 1, 1)
        self.index = y.view(1, 1, b).expand(n, 1, b)
        self.ones = torch.ones((), device=x.device).expand(n, 1, b)
        self.first = True

    @torch.no_grad()
    def __call__(self) -> None:
        ws, bs, h0 = self.ws, self.bs, self.h0
        n, b = len(self.s), h0.shape[1]
        hs, h = [h0], torch.addmm(bs[0].reshape(-1, 1), ws[0].reshape(-1, h0.shape[0]), h0).view(n, -1, b)
        for w, bias in zip(ws[1:], bs[1:]):
            hs.append(h.relu_())
            h = torch.baddbmm(bias.unsqueeze(2), w, h)  # (N, out, B)
        lp = h.log_softmax(1)  # (N, C, B), logits class-major
        p = lp.exp()
        u = torch.mm(self.beta, p.view(n, -1)).view_as(p).scatter_add_(1, self.index, self.ones)
        g = torch.addcmul(u.neg_(), p, self.s).mul_(1.0 / b)  # ∂(Σ_i L_i)/∂z, (N, C, B)
        gw, gb = [None] * len(ws), [None] * len(ws)
        for k in range(len(ws) - 1, 0, -1):
            gw[k], gb[k] = torch.bmm(g, hs[k].transpose(1, 2)), g.sum(2)
            g = torch.bmm(ws[k].transpose(1, 2), g)
            torch.ops.aten.threshold_backward.grad_input(g, hs[k], 0.0, grad_input=g)
        gw[0], gb[0] = torch.mm(g.view(-1, b), h0.t()).view_as(ws[0]), g.sum(2)
        torch._fused_sgd_(
            ws + bs, gw + gb, self.moms, weight_decay=5e-4, momentum=0.9, lr=0.01, dampening=0.0, nesterov=False,
            maximize=False, is_first_step=self.first, grad_scale=None, found_inf=None,
        )  # fmt: skip
        self.first = False
