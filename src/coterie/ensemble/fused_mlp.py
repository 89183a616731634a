"""Identical ReLU MLP members as batched matrix products, with a hand-written backward pass.

The forward pass of N identical MLP members is a chain of batched products over the stacked member weights
(N, out, in). Autograd's generic backward of that chain costs more than its arithmetic on a CPU: every
``baddbmm`` backward produces the weight gradient transposed, (N, in, out), which is then copied into the weight's
layout; ``torch.stack`` adds one backward node per tensor and a split; the ReLU backward allocates a fresh
(N, B, H) buffer per layer. :class:`FusedReluMLP` computes the same gradients directly:

    forward  (ℓ = 1..L):   h_ℓ = relu(W_ℓ h_{ℓ-1} + b_ℓ)         (N, H_ℓ, B), h_0 = normalised input, last: no ReLU
    backward (ℓ = L..1):   ∂W_ℓ = g h_{ℓ-1}ᵀ   (N, H_ℓ, H_{ℓ-1}), in the weight's own layout
                           ∂b_ℓ = Σ_b g       (N, H_ℓ)
                           g ← (W_ℓᵀ g) ⊙ [h_{ℓ-1} > 0]          for ℓ > 1

with activations held features × samples, (N, H, B), so every product reads its operands as stored and a shared
input's first layer is one product for all members. It returns each member's gradients as views of the stacked
gradients, which autograd hands to the members' parameters without a copy. The numbers equal autograd's to float
rounding (tests hold them to 1e-5).

Scope: ReLU members, inputs that do not require gradients (input-gradient objectives such as PARL, GAL and DVERGE
use the autograd path), first-order gradients. A second backward through it (create_graph) raises; use
``executor="loop"`` or ``"vmap"`` for higher-order derivatives.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import Tensor, nn
from torch.autograd.function import once_differentiable

from coterie.ensemble import packing


class FusedReluMLP(torch.autograd.Function):
    """``apply(h0, n_layers, packs, *weights, *biases)`` → logits (N, B, C).

    Inside, activations are held features × samples, (N, H, B): layer ℓ is ``W_ℓ h + b_ℓ`` with both operands in
    their stored layout, and when the input is shared the first layer of all N members is one (N·H₁, D)(D, B)
    product whose weight gradient is again one product. Only the (N, C, B) logits are transposed, once each way.

    Args:
        h0: normalised input, (B, D) shared by all members or (N, B, D) per member; must not require grad.
        n_layers: L, the number of linear layers (hidden layers + head).
        packs: ``None``, or the members' packed parameters (:mod:`coterie.ensemble.packing`): L weight packs
            (N, out, in) then L bias packs (N, out), whose slices are ``weights`` and ``biases``; they are read
            without the stacking copy.
        weights: L·N member weight tensors, layer-major: layer ℓ's N weights (out, in) are consecutive.
        biases: L·N member bias tensors (out,), in the same order.
    """

    @staticmethod
    def forward(ctx, h0: Tensor, n_layers: int, packs: Sequence[Tensor] | None, *params: Tensor) -> Tensor:  # type: ignore[override]
        n = len(params) // (2 * n_layers)
        if packs is None:
            ws = [torch.stack(params[k * n : (k + 1) * n]) for k in range(n_layers)]  # (N, out, in)
            bs = [torch.stack(params[(n_layers + k) * n : (n_layers + k + 1) * n]) for k in range(n_layers)]
            ctx.versions = None
        else:
            ws, bs = list(packs[:n_layers]), list(packs[n_layers:])
            # the packs alias the parameters, so autograd's saved-tensor check cannot see an in-place change made
            # through a parameter between forward and backward: keep the parameters' versions and check them
            ctx.params = params
            ctx.versions = [p._version for p in params]
        shared = h0.dim() == 2
        hs: list[Tensor] = []  # each layer's input: (D, B) when shared (layer 1 only), else (N, in, B)
        h = h0.t() if shared else h0.transpose(1, 2).contiguous()
        for k in range(n_layers):
            hs.append(h)
            if k == 0 and shared:
                out, d = ws[0].shape[1], ws[0].shape[2]
                h = torch.addmm(bs[0].reshape(n * out, 1), ws[0].reshape(n * out, d), h).view(n, out, -1)
            else:
                h = torch.baddbmm(bs[k].unsqueeze(2), ws[k], h)  # (N, out, B)
            if k < n_layers - 1:
                h = h.relu_()
        ctx.n_layers = n_layers
        ctx.shared = shared
        ctx.save_for_backward(*ws, *hs)
        return h.transpose(1, 2)  # (N, B, C), a view of class-major memory (read as such by colearning_loss)

    @staticmethod
    @once_differentiable
    def backward(ctx, g: Tensor) -> tuple[Tensor | None, ...]:  # type: ignore[override]
        nl = ctx.n_layers
        if ctx.versions is not None and any(p._version != v for p, v in zip(ctx.params, ctx.versions)):
            raise RuntimeError(
                "a member parameter needed for the fused backward was modified in place after the forward pass"
            )
        saved = ctx.saved_tensors
        ws, hs = saved[:nl], saved[nl:]
        gw: list[Tensor] = [None] * nl  # type: ignore[list-item]
        gb: list[Tensor] = [None] * nl  # type: ignore[list-item]
        g = g.transpose(1, 2).contiguous()  # (N, C, B)
        n = g.shape[0]
        for k in range(nl - 1, -1, -1):
            if k == 0 and ctx.shared:
                out = g.shape[1]
                gw[k] = torch.mm(g.view(n * out, -1), hs[0].t()).view(n, out, -1)  # all members in one product
            else:
                gw[k] = torch.bmm(g, hs[k].transpose(1, 2))  # (N, out, in), the weight's layout
            gb[k] = g.sum(2)
            if k > 0:
                # ReLU backward on the saved post-activation h_k, written over the product (no second (N, in, B)
                # buffer); threshold_backward is ~10x faster here than multiplying by a bool mask
                g = torch.bmm(ws[k].transpose(1, 2), g)  # (N, in, B)
                torch.ops.aten.threshold_backward.grad_input(g, hs[k], 0.0, grad_input=g)
        need = ctx.needs_input_grad[3:]
        grads: list[Tensor] = []
        for k in range(nl):
            grads.extend(gw[k].unbind(0))
        for k in range(nl):
            grads.extend(gb[k].unbind(0))
        return (None, None, None, *(gr if need[i] else None for i, gr in enumerate(grads)))


def relu_mlp_supported(first: nn.Module) -> bool:
    """True when the members' hidden activations are all ``nn.ReLU`` (the hand-written backward's scope)."""
    return all(type(getattr(first, f"act{k}")) is nn.ReLU for k in range(1, first.depth + 1))


def fused_relu_mlp(members: Sequence[nn.Module], h0: Tensor) -> Tensor:
    """Logits (N, B, C) of identical ReLU MLP members on the normalised input h0 ((B, D) or (N, B, D)).

    In eager mode the members' parameters are packed first (:func:`coterie.ensemble.packing.pack_members`, once;
    afterwards a pointer check per parameter), so the stacked weights are read in place.
    """
    if torch.compiler.is_compiling():  # a compiled graph stacks; the pack's pointer checks would break the graph
        names = _parameter_names.__wrapped__(members[0].depth)  # dynamo traces through caches (and warns)
        params = [m.get_parameter(name) for name in names for m in members]
        return FusedReluMLP.apply(h0, len(names) // 2, None, *params)
    names = _parameter_names(members[0].depth)
    pack = packing.pack_members(members, names)
    return FusedReluMLP.apply(h0, len(names) // 2, pack.packs, *pack.flat)


@functools.cache
def _parameter_names(depth: int) -> tuple[str, ...]:
    """The weights, then the biases, of an MLP with ``depth`` hidden layers: fc1..fc{depth}, head."""
    layers = [f"fc{k}" for k in range(1, depth + 1)] + ["head"]
    return tuple(f"{layer}.weight" for layer in layers) + tuple(f"{layer}.bias" for layer in layers)
