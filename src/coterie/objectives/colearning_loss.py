"""Seed 000 eq. (1) for all members at once, with a closed-form backward pass.

For member logits z (N, B, C), labels y (B,) and a coupling matrix β (N, N) with zero diagonal:

    log p_i = log_softmax(z_i)
    L_i     = CE_i + Σ_j β_ij KL(p_j ‖ p_i),   CE_i = −(1/B) Σ_b log p_i[b, y_b],  p_j held constant in L_i

Autograd's generic backward of this expression runs a dozen small kernels over (N, B, C) tensors whose last axis is
the class axis (C = 10 for MNIST-1D): every softmax-type kernel then vectorises over 10 elements, and the whole loss
costs about as much as a hidden layer of the members. The gradient has a closed form. With
a_i = Σ_j β_ij p_j (one (N, N)(N, B·C) product) and u_i = onehot(y) + a_i ⊙ m_i (m_i: 1 where log p_i is above the
floor, 1 everywhere without one),

    ∂L_i / ∂z_i = (1/B) (p_i Σ_c u_i − u_i)        (Σ_c u_i = 1 + Σ_j β_ij without a floor)

and everything runs class-major, (N, C, B), so the softmax reductions vectorise over the batch. The fused MLP
executor (:mod:`coterie.ensemble.fused_mlp`) returns its logits as a (N, B, C) view of (N, C, B) memory, which is
read here without a copy, and receives its gradient in the same layout; logits in any other layout are transposed
once, and their gradient comes back in their own layout.

Higher-order gradients (``create_graph=True``) are exact: the backward then recomputes p_i from the saved logits with
differentiable operations (the u_i above are constant in z: the others' p_j are detached and the floor mask is
piecewise constant). Tests hold losses and gradients to autograd through the literal eq. (1), with and without a floor,
and run ``gradgradcheck``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


class _CoLearningLoss(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, logits: Tensor, y: Tensor, beta: Tensor | None, log_floor: float | None) -> Any:  # type: ignore[override]
        n, b, _ = logits.shape
        zt = logits.transpose(1, 2)  # (N, C, B): a free view when logits come from the fused MLP executor
        class_major = zt.is_contiguous()
        lp = zt.contiguous().log_softmax(1)  # (N, C, B)
        index = y.view(n, 1, b) if y.dim() == 2 else y.view(1, 1, b).expand(n, 1, b)
        ce = lp.gather(1, index).view(n, b).mean(1).neg_()
        p = lp.exp()
        if beta is None:
            coupling, kl = torch.zeros_like(ce), None
        else:
            lpf, pf = lp.view(n, -1), p.view(n, -1)
            lq = lpf if log_floor is None else lpf.clamp_min(log_floor)
            # float scalars: an int scalar is wrapped as an integer tensor and cast on every call (~4 µs each)
            cross = torch.mm(lq, pf.t()).mul_(-1.0 / b)  # cross[i, j] = mean_x −Σ_y p_j log p_i
            entropy = (pf * lpf).sum(1).mul_(-1.0 / b)  # (N,) mean_x H(p_j)
            kl = cross.sub_(entropy.unsqueeze(0))  # kl[i, j] = mean_x KL(p_j ‖ p_i)
            coupling = (beta * kl).sum(1)
        ctx.save_for_backward(logits, lp, p, index, beta)
        ctx.log_floor = log_floor
        ctx.set_materialize_grads(False)  # ce, coupling, kl carry no gradient: no zero tensors made for them
        ctx.class_major = class_major
        outs = (ce, coupling) if kl is None else (ce, coupling, kl)
        ctx.mark_non_differentiable(*outs)
        return ce + coupling, ce, coupling, kl

    @staticmethod
    def backward(ctx: Any, g: Tensor | None, *_: Any) -> tuple[Tensor | None, None, None, None]:  # type: ignore[override]
        if g is None:
            return None, None, None, None
        logits, lp, p, index, beta = ctx.saved_tensors
        n, c, b = lp.shape
        ones = torch.ones((), dtype=lp.dtype, device=lp.device).expand(n, 1, b)
        if beta is None:
            u = torch.zeros_like(lp).scatter_add_(1, index, ones)
            s = None  # Σ_c u = 1
        else:
            u = torch.mm(beta, p.view(n, -1)).view(n, c, b)  # a_i = Σ_j β_ij p_j
            if ctx.log_floor is not None:
                u.mul_(lp >= ctx.log_floor)  # clamp_min passes the gradient where log p_i ≥ floor
                u.scatter_add_(1, index, ones)
                s = u.sum(1, keepdim=True)  # (N, 1, B)
            else:
                u.scatter_add_(1, index, ones)
                s = (beta.sum(1) + 1.0).view(n, 1, 1)
        scale = (g * (1.0 / b)).view(n, 1, 1)
        if torch.is_grad_enabled():  # create_graph: p_i as a differentiable function of the logits
            p_i = logits.transpose(1, 2).log_softmax(1).exp()
            dzt = (p_i - u if s is None else p_i * s - u) * scale
        else:
            dzt = (p - u if s is None else torch.addcmul(u.neg_(), p, s)).mul_(scale)  # saved p stays intact
        dz = dzt.transpose(1, 2)
        return (dz if ctx.class_major else dz.contiguous()), None, None, None


def colearning_loss(
    logits: Tensor, y: Tensor, beta: Tensor | None = None, log_floor: float | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor | None]:
    """Per-member co-learning losses (seed 000 eq. 1) and their parts.

    Args:
        logits: member logits (N, B, C), any strides; (N, B, C) views of class-major (N, C, B) memory are read and
            differentiated without a copy.
        y: integer labels (B,), or (N, B) when each member has its own batch (only without coupling).
        beta: coupling matrix (N, N) with zero diagonal, on the logits' device and dtype; ``None``: no coupling (the
            losses are the member cross-entropies).
        log_floor: clamp log p_i from below at this value inside the coupling KL (see :class:`CoLearning`).

    Returns:
        ``(losses, ce, coupling, kl)``: losses (N,) = ce + coupling, differentiable in the logits; ce (N,) mean
        cross-entropies; coupling (N,) = Σ_j β_ij KL(p_j ‖ p_i); kl (N, N) with kl[i, j] = mean_x KL(p_j ‖ p_i), or
        ``None`` without coupling. ce, coupling and kl carry no gradient.
    """
    if logits.dim() != 3:
        raise ValueError(f"logits must have shape (N, B, C), got {tuple(logits.shape)}")
    per_member = beta is None and y.shape == logits.shape[:2]
    if y.shape != (logits.shape[1],) and not per_member:
        raise ValueError(f"labels must have shape ({logits.shape[1]},) for logits {tuple(logits.shape)}")
    if torch.is_autocast_enabled(logits.device.type):  # the loss and its closed-form backward in float32
        with torch.autocast(logits.device.type, enabled=False):
            beta = beta.float() if beta is not None else None
            return _CoLearningLoss.apply(logits.float(), y, beta, log_floor)
    return _CoLearningLoss.apply(logits, y, beta, log_floor)
