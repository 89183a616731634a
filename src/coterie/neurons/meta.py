"""Meta-learning activation sub-networks (seed 004, Algorithm 1).

The parameters of a model with learned neurons fall in two groups: the network's weights and biases θ, and the
sub-networks' weights and biases θ_s (every parameter inside a :class:`LearnedActivation`). The **inner loop** trains
θ by gradient descent on minibatch losses L_t; the **outer loop** moves θ_s down the gradient of the mean inner loss
L_I = Σ_t L_t / N_I. Two ways of computing that gradient are offered:

``method="exact"``
    The inner optimisation is unrolled and differentiated through: θ_{t+1} = θ_t − R_I ∇_θ L_t(θ_t, θ_s) is built
    with ``create_graph=True``, so ∇_{θ_s} L_I includes every path by which θ_s changed the inner trajectory (as in
    Maclaurin et al., the paper's ref. 33). **Memory grows linearly with the number of unrolled inner steps**: each
    step keeps its activations and its gradient graph alive until the outer backward pass. ``truncation=K`` bounds
    it: θ is detached every K inner steps and the window's losses are back-propagated at the window's end, so memory
    is O(K) inner steps; the gradient then ignores how θ_s influenced θ more than K steps earlier (biased, but the
    standard remedy for the short-horizon problem the paper mentions, its ref. 63). ``truncation=None`` (or K ≥ N_I)
    gives the exact meta-gradient, which the tests check against finite differences.

``method="first_order"``
    Alternating updates: each inner step back-propagates once, into θ (used for the SGD step) and into θ_s (summed);
    after N_I steps the averaged θ_s gradient takes one outer step. θ_t is treated as a constant of θ_s, so the cost
    is that of ordinary training and memory is O(1) in N_I.

``reinit_inner=True`` re-initialises θ at every outer step, as Algorithm 1 is literally written ("Initialize network"
inside the outer loop); the default ``False`` carries θ over from one outer step to the next, so the network keeps
training while its activations evolve, and the outer loss is measured in the regime the network ends up in.

The inner optimiser is plain SGD with rate R_I (differentiable, as Algorithm 1); the outer optimiser is Adam or SGD
with rate R_O on θ_s, with optional clipping of the meta-gradient norm.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn
from torch.func import functional_call

from coterie.neurons.activation import LearnedActivation

log = logging.getLogger(__name__)

LossFn = Callable[[Tensor, Tensor], Tensor]
Batch = tuple[Tensor, Tensor]


@dataclass
class MetaConfig:
    """Settings of Algorithm 1.

    Attributes:
        method: ``exact`` (unrolled, differentiable inner loop) or ``first_order`` (alternating).
        outer_steps: N_O, updates of the sub-networks θ_s.
        inner_steps: N_I, minibatch SGD steps on θ per outer step.
        inner_lr: R_I, the inner SGD rate.
        outer_lr: R_O, the outer rate.
        outer_optimizer: ``adam`` or ``sgd`` for θ_s.
        truncation: exact method only — back-propagate through at most this many inner steps (None: all).
        reinit_inner: re-initialise θ at every outer step (Algorithm 1 literally) instead of carrying it over.
        batch_size: inner minibatch size.
        clip_meta_grad: clip the θ_s gradient to this global norm (None: no clipping).
    """

    method: Literal["exact", "first_order"] = "exact"
    outer_steps: int = 100
    inner_steps: int = 20
    inner_lr: float = 0.1
    outer_lr: float = 1e-3
    outer_optimizer: Literal["adam", "sgd"] = "adam"
    truncation: int | None = None
    reinit_inner: bool = False
    batch_size: int = 128
    clip_meta_grad: float | None = 1.0


@dataclass
class MetaResult:
    """What meta-learning produced: per-outer-step records and, optionally, activation snapshots.

    Attributes:
        history: one dict per outer step with ``outer_step`` and ``inner_loss`` (mean L_I) and ``meta_grad_norm``.
        snapshots: ``(outer_step, {activation name: values on the snapshot grid (P,)})`` pairs.
        grid: the snapshot abscissae (P,).
    """

    history: list[dict[str, float]] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, Tensor]]] = field(default_factory=list)
    grid: Tensor | None = None


def learned_activations(model: nn.Module) -> dict[str, LearnedActivation]:
    """The :class:`LearnedActivation` submodules of ``model`` by dotted name (shared modules appear once)."""
    out: dict[str, LearnedActivation] = {}
    seen: set[int] = set()
    for name, m in model.named_modules():
        if isinstance(m, LearnedActivation) and id(m) not in seen:
            seen.add(id(m))
            out[name] = m
    return out


def split_parameters(model: nn.Module) -> tuple[dict[str, nn.Parameter], dict[str, nn.Parameter]]:
    """``(θ, θ_s)``: the network's parameters and the learned activations' parameters, by dotted name."""
    act_prefixes = tuple(f"{n}." for n in learned_activations(model))
    net: dict[str, nn.Parameter] = {}
    act: dict[str, nn.Parameter] = {}
    for name, p in model.named_parameters():
        (act if name.startswith(act_prefixes) else net)[name] = p
    return net, act


def reset_network(model: nn.Module) -> None:
    """Re-initialise θ (every module with ``reset_parameters`` outside the learned activations); θ_s is untouched."""
    act_prefixes = tuple(f"{n}." for n in learned_activations(model))
    act_names = set(learned_activations(model))
    for name, m in model.named_modules():
        if name in act_names or name.startswith(act_prefixes):
            continue
        reset = getattr(m, "reset_parameters", None)
        if callable(reset) and any(True for _ in m.parameters(recurse=False)):
            reset()


def batch_stream(x: Tensor, y: Tensor, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
    """Endless shuffled minibatches of (x, y): epochs of a fresh random permutation each (seeded by ``generator``)."""
    n = x.shape[0]
    while True:
        perm = torch.randperm(n, generator=generator).to(x.device)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            idx = perm[i : i + batch_size]
            yield x[idx], y[idx]


def _call(model: nn.Module, params: dict[str, Tensor], x: Tensor) -> Tensor:
    return functional_call(model, params, (x,), strict=False, tie_weights=True)


def unrolled_meta_gradient(
    model: nn.Module,
    theta: dict[str, Tensor],
    theta_s: dict[str, Tensor],
    batches: list[Batch],
    loss_fn: LossFn,
    inner_lr: float,
    truncation: int | None = None,
) -> tuple[float, dict[str, Tensor], dict[str, Tensor]]:
    """The exact (or truncated) gradient of the mean inner loss L_I with respect to θ_s.

    Runs ``len(batches)`` differentiable SGD steps θ ← θ − R_I ∇_θ L_t from ``theta`` with the activations'
    parameters ``theta_s`` and back-propagates L_I = Σ_t L_t / N_I into ``theta_s`` through the whole trajectory
    (or through windows of ``truncation`` steps).

    Args:
        model: the module whose functional form is evaluated (its own parameter values are not used).
        theta: initial network parameters by name (tensors; detached copies are made).
        theta_s: activation parameters by name (leaf tensors with ``requires_grad``).
        batches: the inner minibatches ``(x (B, ...), y (B, ...))``, one per inner step.
        loss_fn: ``loss_fn(outputs, targets) -> scalar``.
        inner_lr: R_I.
        truncation: window length K (None: no truncation).

    Returns:
        ``(L_I as a float, {name: ∂L_I/∂θ_s}, final θ detached)``.
    """
    n = len(batches)
    window = n if truncation is None else max(1, int(truncation))
    names_s = list(theta_s)
    grads = {k: torch.zeros_like(v) for k, v in theta_s.items()}
    cur = {k: v.detach().clone().requires_grad_(True) for k, v in theta.items()}
    total = 0.0
    window_loss: Tensor | None = None
    for t, (x, y) in enumerate(batches):
        loss = loss_fn(_call(model, {**cur, **theta_s}, x), y)
        total += float(loss.detach())
        window_loss = loss / n if window_loss is None else window_loss + loss / n
        last_in_window = (t + 1) % window == 0 or t == n - 1
        # the last step's update only moves θ on (nothing later depends on it), so it needs no graph
        g = torch.autograd.grad(loss, list(cur.values()), create_graph=t < n - 1, retain_graph=True, allow_unused=True)
        cur = {k: v if gk is None else v - inner_lr * gk for (k, v), gk in zip(cur.items(), g)}
        if last_in_window:
            gs = torch.autograd.grad(window_loss, [theta_s[k] for k in names_s], allow_unused=True)
            for k, gk in zip(names_s, gs):
                if gk is not None:
                    grads[k] += gk
            window_loss = None
            cur = {k: v.detach().requires_grad_(True) for k, v in cur.items()}
    return total / n, grads, {k: v.detach() for k, v in cur.items()}


def _snapshot(model: nn.Module, grid: Tensor) -> dict[str, Tensor]:
    with torch.no_grad():
        acts = learned_activations(model).items()
        return {name: act(grid.to(next(act.parameters()).device)).cpu() for name, act in acts}


def meta_learn(
    model: nn.Module,
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    config: MetaConfig,
    seed: int = 0,
    snapshot_every: int = 0,
    snapshot_grid: Tensor | None = None,
    on_step: Callable[[dict[str, float]], None] | None = None,
) -> MetaResult:
    """Run Algorithm 1 on ``model`` in place: the learned activations (θ_s) end meta-learned.

    Args:
        model: a model containing :class:`LearnedActivation` modules (e.g. ``DiverseMLP`` with a ``LearnedSpec``).
        x, y: training inputs (M, ...) and targets (M, ...), on the model's device.
        loss_fn: ``loss_fn(model(x_batch), y_batch) -> scalar``.
        config: :class:`MetaConfig`.
        seed: seeds the minibatch order.
        snapshot_every: record the activations every this many outer steps (0: only first and last).
        snapshot_grid: abscissae for snapshots (default: 200 points on [-10, 10]).
        on_step: called with each outer step's record (for logging).

    Returns:
        :class:`MetaResult` with the loss history and activation snapshots.
    """
    theta, theta_s = split_parameters(model)
    if not theta_s:
        raise ValueError("model has no LearnedActivation: nothing to meta-learn")
    params_s = list(theta_s.values())
    if config.outer_optimizer == "adam":
        outer: torch.optim.Optimizer = torch.optim.Adam(params_s, lr=config.outer_lr)
    else:
        outer = torch.optim.SGD(params_s, lr=config.outer_lr)
    gen = torch.Generator().manual_seed(seed)
    stream = batch_stream(x, y, config.batch_size, gen)
    grid = torch.linspace(-10, 10, 200) if snapshot_grid is None else snapshot_grid
    result = MetaResult(grid=grid)
    result.snapshots.append((0, _snapshot(model, grid)))
    inner_sgd = torch.optim.SGD(list(theta.values()), lr=config.inner_lr)
    model.train()
    for step in range(1, config.outer_steps + 1):
        if config.reinit_inner:
            reset_network(model)
        batches = [next(stream) for _ in range(config.inner_steps)]
        outer.zero_grad(set_to_none=True)
        if config.method == "exact":
            mean_loss, grads, final = unrolled_meta_gradient(
                model, dict(theta), theta_s, batches, loss_fn, config.inner_lr, config.truncation
            )
            for k, p in theta_s.items():
                p.grad = grads[k]
            with torch.no_grad():
                for k, p in theta.items():
                    p.copy_(final[k])
        elif config.method == "first_order":
            total = 0.0
            for xb, yb in batches:
                inner_sgd.zero_grad(set_to_none=True)
                loss = loss_fn(model(xb), yb)
                (loss / config.inner_steps).backward()
                total += float(loss.detach())
                # the θ gradient of L_t/N_I is rescaled to ∇θ L_t for the SGD step
                with torch.no_grad():
                    for p in theta.values():
                        if p.grad is not None:
                            p.grad.mul_(config.inner_steps)
                inner_sgd.step()
            mean_loss = total / config.inner_steps
        else:
            raise ValueError(f"unknown meta-learning method {config.method!r}")
        if not math.isfinite(mean_loss):
            raise FloatingPointError(
                f"inner loss became {mean_loss} at outer step {step}: lower meta inner_lr (now {config.inner_lr})"
            )
        grad_norm = float(torch.norm(torch.stack([p.grad.norm() for p in params_s if p.grad is not None])))
        if config.clip_meta_grad is not None:
            nn.utils.clip_grad_norm_(params_s, config.clip_meta_grad)
        outer.step()
        record = {"outer_step": step, "inner_loss": mean_loss, "meta_grad_norm": grad_norm}
        result.history.append(record)
        if on_step is not None:
            on_step(record)
        if (snapshot_every and step % snapshot_every == 0) or step == config.outer_steps:
            if result.snapshots[-1][0] != step:
                result.snapshots.append((step, _snapshot(model, grid)))
    for p in theta.values():
        p.grad = None
    return result
