"""Plain-PyTorch baselines for one co-learning step (seed 000 eq. 1), the yardsticks coterie's step is timed against.

- the naive loop (ensemble_step.py's ``loop_step``): one optimiser per member, the loss summed member by member.
- :func:`competent_loop_step`: what a competent PyTorch user writes — members run in a Python loop, their logits are
  stacked to (N, B, C), eq. (1) is computed vectorised over members, and one ``SGD(fused=True)`` updates every
  member's parameters.
- :func:`vmap_step`: the recipe of PyTorch's model-ensembling tutorial — ``torch.func.stack_module_state`` stacks the
  members' parameters into (N, ...) leaves and ``vmap(functional_call)`` runs all members at once; the same
  vectorised loss and one fused SGD over the stacked leaves.

All three compute the same losses and gradients as coterie's ``CoLearning`` (the others' probabilities detached).
"""

from __future__ import annotations

import copy
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def colearning_losses(logits: Tensor, y: Tensor, beta: float) -> Tensor:
    """Per-member eq. (1) losses (N,) from logits (N, B, C), vectorised over members: CE + β Σ_{j≠i} KL(p_j‖p_i)."""
    n = logits.shape[0]
    logp = F.log_softmax(logits, -1)
    ce = F.nll_loss(logp.flatten(0, 1), y.repeat(n), reduction="none").view(n, -1).mean(1)
    p = logp.detach().exp()
    neg_entropy = (p * logp.detach()).sum(-1).mean(1)  # Σ_c p_j log p_j, averaged over the batch: (N,)
    cross = torch.einsum("jbc,ibc->ij", p, logp) / logits.shape[1]  # mean_x Σ_c p_j log p_i: (N_i, N_j)
    kl = neg_entropy.unsqueeze(0) - cross  # kl[i, j] = mean_x KL(p_j ‖ p_i)
    coupling = kl.sum(1) - kl.diagonal()
    return ce + beta * coupling


def competent_loop_step(members: list[nn.Module], beta: float, x: Tensor, y: Tensor) -> Callable[[], None]:
    """Members in a loop, the loss vectorised over members, one fused SGD over all parameters."""
    params = [p for m in members for p in m.parameters()]
    opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=5e-4, fused=True)

    def step() -> None:
        logits = torch.stack([m(x) for m in members])
        loss = colearning_losses(logits, y, beta).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def vmap_step(members: list[nn.Module], beta: float, x: Tensor, y: Tensor) -> Callable[[], None]:
    """PyTorch's model-ensembling recipe: stacked parameters as (N, ...) leaves, vmap over functional_call.
    The returned step's ``params`` attribute holds the stacked parameters it trains."""
    from torch.func import functional_call, stack_module_state

    params, buffers = stack_module_state(members)
    base = copy.deepcopy(members[0]).to("meta")
    leaves = [p.requires_grad_() for p in params.values()]
    opt = torch.optim.SGD(leaves, lr=0.01, momentum=0.9, weight_decay=5e-4, fused=True)

    def one(p: dict[str, Tensor], b: dict[str, Tensor], xb: Tensor) -> Tensor:
        return functional_call(base, (p, b), (xb,))

    forward = torch.vmap(one, in_dims=(0, 0, None))

    def step() -> None:
        logits = forward(params, buffers, x)
        loss = colearning_losses(logits, y, beta).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step.params = params  # type: ignore[attr-defined]  # the stacked (N, ...) parameters it trains
    return step
