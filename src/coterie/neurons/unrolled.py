"""The exact (or truncated) meta-gradient of seed 004's Algorithm 1, by differentiating through the inner loop.

A loop of its own, not the Trainer's: the meta-gradient needs every inner update as a differentiable function of θ_s
(``create_graph=True``), which an in-place optimiser step cannot provide.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.func import functional_call

from coterie.neurons.inner_optim import InnerOptimizer, InnerOptimizerName

LossFn = Callable[[Tensor, Tensor], Tensor]
Batch = tuple[Tensor, Tensor]


def call_with(model: nn.Module, params: dict[str, Tensor], x: Tensor) -> Tensor:
    """``model(x)`` with the named parameters replaced by ``params`` (others: the module's own)."""
    return functional_call(model, params, (x,), strict=False, tie_weights=True)


def unrolled_meta_gradient(
    model: nn.Module,
    theta: dict[str, Tensor],
    theta_s: dict[str, Tensor],
    batches: list[Batch],
    loss_fn: LossFn,
    inner_lr: float,
    truncation: int | None = None,
    inner: InnerOptimizerName | InnerOptimizer = "sgd",
) -> tuple[float, dict[str, Tensor], dict[str, Tensor]]:
    """The exact (or truncated) gradient of the mean inner loss L_I with respect to θ_s.

    Runs ``len(batches)`` differentiable inner steps from ``theta`` (SGD θ ← θ − R_I ∇_θ L_t, or Adam from a fresh
    state) with the activations' parameters ``theta_s`` and back-propagates L_I = Σ_t L_t / N_I into ``theta_s``
    through the whole trajectory (or through windows of ``truncation`` steps, θ and the optimiser state detached at
    each window's end).

    Args:
        model: the module whose functional form is evaluated (its own parameter values are not used).
        theta: initial network parameters by name (tensors; detached copies are made).
        theta_s: activation parameters by name (leaf tensors with ``requires_grad``).
        batches: the inner minibatches ``(x (B, ...), y (B, ...))``, one per inner step.
        loss_fn: ``loss_fn(outputs, targets) -> scalar``.
        inner_lr: R_I (used when ``inner`` is a name).
        truncation: window length K (None: no truncation).
        inner: ``sgd``, ``adam`` or an :class:`InnerOptimizer`.

    Returns:
        ``(L_I as a float, {name: ∂L_I/∂θ_s}, final θ detached)``.
    """
    opt = inner if isinstance(inner, InnerOptimizer) else InnerOptimizer(inner, inner_lr)
    n = len(batches)
    window = n if truncation is None else max(1, int(truncation))
    names_s = list(theta_s)
    grads = {k: torch.zeros_like(v) for k, v in theta_s.items()}
    cur = {k: v.detach().clone().requires_grad_(True) for k, v in theta.items()}
    state = opt.init(cur)
    total = 0.0
    window_loss: Tensor | None = None
    for t, (x, y) in enumerate(batches):
        loss = loss_fn(call_with(model, {**cur, **theta_s}, x), y)
        total += float(loss.detach())
        window_loss = loss / n if window_loss is None else window_loss + loss / n
        # the last step's update only moves θ on (nothing later depends on it), so it needs no graph
        g = torch.autograd.grad(loss, list(cur.values()), create_graph=t < n - 1, retain_graph=True, allow_unused=True)
        cur, state = opt.step(cur, dict(zip(cur, g)), state)
        if (t + 1) % window == 0 or t == n - 1:
            gs = torch.autograd.grad(window_loss, [theta_s[k] for k in names_s], allow_unused=True)
            for k, gk in zip(names_s, gs):
                if gk is not None:
                    grads[k] += gk
            window_loss = None
            cur = {k: v.detach().requires_grad_(True) for k, v in cur.items()}
            state = opt.detach(state)
    return total / n, grads, {k: v.detach() for k, v in cur.items()}
