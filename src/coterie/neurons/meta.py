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

``reinit_inner=True`` (the default) re-initialises θ at the start of every outer step, as Algorithm 1 is written
("Initialize network" inside the outer loop), from a seed derived from ``(seed, outer step)``
(:func:`reinit_network`), so the activations are learned for training from scratch. ``False`` carries θ over from
one outer step to the next (the network keeps training while its activations evolve; an option, not the paper).

The inner optimiser is ``adam`` (the optimiser the learned-diversity arms are trained with; default) or ``sgd``
(Algorithm 1's literal step), with rate R_I and a fresh state every outer step (:mod:`coterie.neurons.inner_optim`);
the outer optimiser is Adam or SGD with rate R_O on θ_s, with optional clipping of the meta-gradient norm. Outer
steps run until the monitored loss — the meta-network's validation loss after the inner loop when validation data
is given, else the mean inner loss — has not improved by ``min_delta`` for ``patience`` steps
(:class:`coterie.neurons.plateau.Plateau`), or ``outer_steps`` at most.

This is a loop of its own rather than the Trainer: the exact method differentiates through the inner updates, and
the first-order method accumulates θ_s gradients across inner steps while stepping θ, which the Trainer cannot.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from coterie.neurons.activation import LearnedActivation
from coterie.neurons.inner_optim import InnerOptimizer, InnerOptimizerName
from coterie.neurons.plateau import Plateau
from coterie.neurons.unrolled import Batch, LossFn, unrolled_meta_gradient

log = logging.getLogger(__name__)

__all__ = [
    "Batch",
    "LossFn",
    "MetaConfig",
    "MetaResult",
    "batch_stream",
    "learned_activations",
    "meta_learn",
    "reinit_network",
    "reinit_seed",
    "reset_network",
    "split_parameters",
    "unrolled_meta_gradient",
    "validation_loss",
]


@dataclass
class MetaConfig:
    """Settings of Algorithm 1.

    Attributes:
        method: ``exact`` (unrolled, differentiable inner loop) or ``first_order`` (alternating).
        outer_steps: N_O at most: updates of the sub-networks θ_s (fewer when the plateau rule stops earlier).
        inner_steps: N_I, minibatch steps on θ per outer step.
        inner_lr: R_I, the inner rate.
        inner_optimizer: ``adam`` (as the arms are trained) or ``sgd`` (Algorithm 1 literally).
        outer_lr: R_O, the outer rate.
        outer_optimizer: ``adam`` or ``sgd`` for θ_s.
        truncation: exact method only — back-propagate through at most this many inner steps (None: all).
        reinit_inner: re-initialise θ at every outer step (Algorithm 1, default); ``False`` carries θ over.
        batch_size: inner minibatch size.
        clip_meta_grad: clip the θ_s gradient to this global norm (None: no clipping).
        patience: stop after this many outer steps without improvement of the monitored loss (None: never).
        min_delta: an improvement must lower the best monitored loss by more than this (absolute).
    """

    method: Literal["exact", "first_order"] = "exact"
    outer_steps: int = 100
    inner_steps: int = 20
    inner_lr: float = 1e-2
    inner_optimizer: InnerOptimizerName = "adam"
    outer_lr: float = 1e-3
    outer_optimizer: Literal["adam", "sgd"] = "adam"
    truncation: int | None = None
    reinit_inner: bool = True
    batch_size: int = 128
    clip_meta_grad: float | None = 1.0
    patience: int | None = None
    min_delta: float = 0.0


@dataclass
class MetaResult:
    """What meta-learning produced: per-outer-step records and, optionally, activation snapshots.

    Attributes:
        history: one dict per outer step with ``outer_step``, ``inner_loss`` (mean L_I), ``meta_grad_norm`` and,
            with validation data, ``val_loss`` (the meta-network's validation loss after that step's inner loop).
        snapshots: ``(outer_step, {activation name: values on the snapshot grid (P,)})`` pairs.
        grid: the snapshot abscissae (P,).
        stopped: why the outer loop ended: ``plateau`` or ``max_steps``.
        best_step: the outer step with the best monitored loss.
    """

    history: list[dict[str, float]] = field(default_factory=list)
    snapshots: list[tuple[int, dict[str, Tensor]]] = field(default_factory=list)
    grid: Tensor | None = None
    stopped: str = "max_steps"
    best_step: int = 0


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


def reinit_seed(seed: int, outer_step: int) -> int:
    """The seed of θ's fresh initialisation at outer step ``outer_step`` (1-based) of a run seeded ``seed``."""
    return seed * 1_000_003 + 7919 * outer_step + 17


def reinit_network(model: nn.Module, seed: int) -> None:
    """:func:`reset_network` drawn from ``torch.manual_seed(seed)``, leaving the global random state as it was."""
    devices = sorted({p.device.index or 0 for p in model.parameters() if p.device.type == "cuda"})
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        reset_network(model)


def batch_stream(x: Tensor, y: Tensor, batch_size: int, generator: torch.Generator) -> Iterator[Batch]:
    """Endless shuffled minibatches of (x, y): epochs of a fresh random permutation each (seeded by ``generator``)."""
    n = x.shape[0]
    while True:
        perm = torch.randperm(n, generator=generator).to(x.device)
        for i in range(0, n - batch_size + 1 if n >= batch_size else 1, batch_size):
            idx = perm[i : i + batch_size]
            yield x[idx], y[idx]


def validation_loss(model: nn.Module, data: tuple[Tensor, Tensor], loss_fn: LossFn, chunk: int = 4096) -> float:
    """The loss of ``model`` on ``data`` = (x (M, ...), y (M, ...)) in evaluation mode, as the sample-weighted mean
    of ``loss_fn`` (a batch mean) over chunks. The model's train/eval mode is restored."""
    x, y = data
    was = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():
        for xb, yb in zip(x.split(chunk), y.split(chunk)):
            total += float(loss_fn(model(xb), yb)) * xb.shape[0]
    model.train(was)
    return total / max(1, x.shape[0])


def _snapshot(model: nn.Module, grid: Tensor) -> dict[str, Tensor]:
    with torch.no_grad():
        acts = learned_activations(model).items()
        return {name: act(grid.to(next(act.parameters()).device)).cpu() for name, act in acts}


def _first_order(
    model: nn.Module, theta: dict[str, nn.Parameter], batches: list[Batch], loss_fn: LossFn, inner: InnerOptimizer
) -> float:
    """N_I in-place inner steps on θ (fresh optimiser state) while θ_s accumulates ∇ of L_I; the mean loss."""
    opt = inner.torch_optimizer(list(theta.values()))
    n = len(batches)
    total = 0.0
    for xb, yb in batches:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        (loss / n).backward()
        total += float(loss.detach())
        with torch.no_grad():  # the θ gradient of L_t/N_I is rescaled to ∇θ L_t for the inner step
            for p in theta.values():
                if p.grad is not None:
                    p.grad.mul_(n)
        opt.step()
    return total / n


def _exact(
    model: nn.Module,
    theta: dict[str, nn.Parameter],
    theta_s: dict[str, nn.Parameter],
    batches: list[Batch],
    loss_fn: LossFn,
    config: MetaConfig,
    inner: InnerOptimizer,
) -> float:
    """The unrolled meta-gradient into θ_s's ``.grad``; θ moves to the inner loop's end. The mean loss."""
    mean_loss, grads, final = unrolled_meta_gradient(
        model, dict(theta), theta_s, batches, loss_fn, config.inner_lr, config.truncation, inner
    )
    for k, p in theta_s.items():
        p.grad = grads[k]
    with torch.no_grad():
        for k, p in theta.items():
            p.copy_(final[k])
    return mean_loss


def _outer_optimizer(params: list[nn.Parameter], config: MetaConfig) -> torch.optim.Optimizer:
    if config.outer_optimizer == "adam":
        return torch.optim.Adam(params, lr=config.outer_lr)
    if config.outer_optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.outer_lr)
    raise ValueError(f"unknown outer optimizer {config.outer_optimizer!r}; choose adam or sgd")


def _outer_step(
    model: nn.Module,
    theta: dict[str, nn.Parameter],
    theta_s: dict[str, nn.Parameter],
    batches: list[Batch],
    loss_fn: LossFn,
    config: MetaConfig,
    outer: torch.optim.Optimizer,
) -> tuple[float, float]:
    """One outer step: the inner loop, then θ_s moves along its (clipped) meta-gradient. (mean L_I, ‖∇θ_s‖)."""
    inner = InnerOptimizer(config.inner_optimizer, config.inner_lr)
    outer.zero_grad(set_to_none=True)
    if config.method == "exact":
        mean_loss = _exact(model, theta, theta_s, batches, loss_fn, config, inner)
    elif config.method == "first_order":
        mean_loss = _first_order(model, theta, batches, loss_fn, inner)
    else:
        raise ValueError(f"unknown meta-learning method {config.method!r}; choose exact or first_order")
    if not math.isfinite(mean_loss):
        raise FloatingPointError(f"inner loss became {mean_loss}: lower meta inner_lr (now {config.inner_lr})")
    params_s = list(theta_s.values())
    grad_norm = float(torch.norm(torch.stack([p.grad.norm() for p in params_s if p.grad is not None])))
    if config.clip_meta_grad is not None:
        nn.utils.clip_grad_norm_(params_s, config.clip_meta_grad)
    outer.step()
    return mean_loss, grad_norm


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
    val: tuple[Tensor, Tensor] | None = None,
) -> MetaResult:
    """Run Algorithm 1 on ``model`` in place: the learned activations (θ_s) end meta-learned.

    Args:
        model: a model containing :class:`LearnedActivation` modules (e.g. :class:`coterie.models.DiverseMLP` with a
            ``LearnedSpec``).
        x, y: training inputs (M, ...) and targets (M, ...), on the model's device.
        loss_fn: ``loss_fn(model(x_batch), y_batch) -> scalar``.
        config: :class:`MetaConfig`.
        seed: seeds the minibatch order and θ's re-initialisations (:func:`reinit_seed`).
        snapshot_every: record the activations every this many outer steps (0: only first and last).
        snapshot_grid: abscissae for snapshots (default: 200 points on [-10, 10]).
        on_step: called with each outer step's record (for logging).
        val: validation (x (V, ...), y (V, ...)): its loss is recorded every outer step and drives the plateau rule.

    Returns:
        :class:`MetaResult` with the loss history (and validation curve), activation snapshots and stop reason.
    """
    theta, theta_s = split_parameters(model)
    if not theta_s:
        raise ValueError("model has no LearnedActivation: nothing to meta-learn")
    outer = _outer_optimizer(list(theta_s.values()), config)
    stream = batch_stream(x, y, config.batch_size, torch.Generator().manual_seed(seed))
    grid = torch.linspace(-10, 10, 200) if snapshot_grid is None else snapshot_grid
    result = MetaResult(grid=grid)
    result.snapshots.append((0, _snapshot(model, grid)))
    plateau = Plateau(config.patience, config.min_delta, config.outer_steps)
    model.train()
    for step in range(1, config.outer_steps + 1):
        if config.reinit_inner:
            reinit_network(model, reinit_seed(seed, step))
        batches = [next(stream) for _ in range(config.inner_steps)]
        try:
            mean_loss, grad_norm = _outer_step(model, theta, theta_s, batches, loss_fn, config, outer)
        except FloatingPointError as e:
            raise FloatingPointError(f"outer step {step}: {e}") from None
        record = {"outer_step": step, "inner_loss": mean_loss, "meta_grad_norm": grad_norm}
        if val is not None:
            record["val_loss"] = validation_loss(model, val, loss_fn)
        result.history.append(record)
        if on_step is not None:
            on_step(record)
        done = plateau.update(record.get("val_loss", mean_loss))
        if (snapshot_every and step % snapshot_every == 0) or done:
            if result.snapshots[-1][0] != step:
                result.snapshots.append((step, _snapshot(model, grid)))
        if done:
            break
    result.stopped, result.best_step = plateau.reason or "max_steps", plateau.best_step
    log.info("meta-learning stopped after %d outer steps (%s)", len(result.history), result.stopped)
    for p in theta.values():
        p.grad = None
    return result
