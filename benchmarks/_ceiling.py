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
        self.update(*self.products())

    @torch.no_grad()
    def products(self) -> tuple[list[Tensor], list[Tensor]]:
        """The forward pass, eq. (1)'s logit gradient and the backward products: (weight, bias) gradients per layer."""
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
        gw: list[Tensor] = [None] * len(ws)  # type: ignore[list-item]
        gb: list[Tensor] = [None] * len(ws)  # type: ignore[list-item]
        for k in range(len(ws) - 1, 0, -1):
            gw[k], gb[k] = torch.bmm(g, hs[k].transpose(1, 2)), g.sum(2)
            g = torch.bmm(ws[k].transpose(1, 2), g)
            torch.ops.aten.threshold_backward.grad_input(g, hs[k], 0.0, grad_input=g)
        gw[0], gb[0] = torch.mm(g.view(-1, b), h0.t()).view_as(ws[0]), g.sum(2)
        return gw, gb

    @torch.no_grad()
    def update(self, gw: list[Tensor], gb: list[Tensor]) -> None:
        """One ``torch._fused_sgd_`` call over every stacked layer."""
        torch._fused_sgd_(
            self.ws + self.bs, gw + gb, self.moms, weight_decay=5e-4, momentum=0.9, lr=0.01, dampening=0.0,
            nesterov=False, maximize=False, is_first_step=self.first, grad_scale=None, found_inf=None,
        )  # fmt: skip
        self.first = False


class _LeafProducts(torch.autograd.Function):
    """The hand-written products as one autograd node over the members' leaves: its backward hands autograd the
    leaf gradients already computed (views of the stacked gradients, stored on the leaves without a copy)."""

    @staticmethod
    def forward(ctx, step: HandwrittenStep, *leaves: Tensor) -> Tensor:  # type: ignore[override]
        ctx.grads = step.products()
        return torch.zeros(())

    @staticmethod
    def backward(ctx, _: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        gw, gb = ctx.grads
        return (None, *(t for g in gw + gb for t in g.unbind(0)))


class LeafCeilingStep(HandwrittenStep):
    """The ceiling plus what member leaves cost and nothing else: every member keeps its own leaf ``nn.Parameter``
    (whose storage is its slice of the stacked tensor, as coterie packs them), one autograd node's backward hands
    the N·2L leaf gradients to autograd, the update reads the stacked gradients those leaves' gradients are slices
    of, and the gradients are cleared (``set_to_none``) as a training loop does. Members' forward dispatch, the
    objective's logged terms and the optimiser's bookkeeping are left out: ``competent loop ÷ this`` bounds what a
    step that keeps member leaves can reach."""

    def __init__(self, members: list[nn.Module], beta: float, x: Tensor, y: Tensor) -> None:
        super().__init__(members, beta, x, y)
        self.leaves = [m.get_parameter(name) for name in self.params for m in members]  # pack order
        for name, stacked in self.params.items():
            for i, m in enumerate(members):
                m.get_parameter(name).data = stacked[i]

    def __call__(self) -> None:
        _LeafProducts.apply(self, *self.leaves).backward()
        n, nl = len(self.s), len(self.ws)
        stacked = self.ws + self.bs
        firsts = [self.leaves[k * n].grad for k in range(2 * nl)]  # each layer's leaves' gradients are slices of one
        grads = [g.as_strided(t.shape, t.stride(), g.storage_offset()) for g, t in zip(firsts, stacked)]
        for p in self.leaves:
            p.grad = None
        self.update(grads[:nl], grads[nl:])
