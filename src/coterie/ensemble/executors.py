"""How an ensemble runs its members: a Python loop, or vectorised over stacked parameters.

All executors map an input (B, ...) to member outputs (N, B, C) and are numerically equivalent (tests hold them to
1e-5). Vectorised executors stack the members' own parameters with ``torch.stack`` on every call, so gradients flow
back to each member's parameters and the members stay the single source of truth.

- ``loop``: one forward per member. Works for anything, including members of different architectures and
  BatchNorm members. The fastest choice for convolutional members other than LeNet-5 on CPU (DESIGN.md measured
  LeNet-5 ×5: loop 301 ms, vmap 454 ms; the fused LeNet-5 executor below beats both). On CPU a 4-D input to
  convolutional members is passed in ``channels_last`` memory format (the members' own parameters are left as they
  are); measured 1.3× faster for LeNet-5 on an earlier machine, bit-identical.
- ``fused``: identical MLP or LeNet-5 members run as one wider network. MLPs: every layer is one batched matrix
  product (``baddbmm``, bias included) over the stacked member weights. The fastest choice for small MLP members on
  CPU (on an H200 the vmap recipe beat it, so off the CPU ``auto`` starts on vmap and a timing probe decides). In
  training (grad enabled, input without grad, ReLU members) it runs :class:`~coterie.ensemble.fused_mlp.FusedReluMLP`,
  whose hand-written backward writes weight gradients in their own layout (no transpose copies, no per-tensor
  stack/split nodes); elsewhere the same products run under autograd. LeNet-5 (:mod:`.fused_lenet`): one first
  convolution with the members' filters side by side, grouped convolutions after it, batched products for the
  layers that cover the whole map; the fastest choice for LeNet-5 members on CPU.
- ``vmap``: ``torch.func.vmap`` over ``functional_call`` for identical members without running-statistics buffers.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap

from coterie.ensemble.fused_lenet import fused_lenet_forward, lenet_supported
from coterie.ensemble.fused_mlp import fused_relu_mlp, relu_mlp_supported

ExecutorName = Literal["auto", "loop", "fused", "vmap"]
EXECUTORS: tuple[str, ...] = ("auto", "loop", "fused", "vmap")

# The structural questions below (same architecture? BatchNorm? fusable?) are asked on every forward; answering them
# walks every member's state_dict, which costs more than a small member's forward. The answers are memoised on a
# structural key read per call (:func:`structure_key`, a fraction of that cost): it changes whenever a submodule,
# parameter or buffer is added, removed or replaced, so a changed member tree is never served a stale answer. No
# process-wide state is involved (no torch registration hooks).
_memo_cache: dict[Any, Any] = {}
_MISSING = object()

_F = TypeVar("_F", bound=Callable[..., Any])


def structure_key(members: Sequence[nn.Module]) -> tuple[Any, ...]:
    """Everything the structural answers depend on, for the members in order: each submodule's identity, type and
    child names, and each parameter's and buffer's name, identity and shape.

    Identities catch a layer replaced in place by a same-shaped one (the new object exists before the old one is
    freed, so their ids differ); types, names and shapes make the key determine the answers even if an id is later
    reused by another object. Holds no references, so memoised entries keep nothing alive.
    """
    key: list[Any] = []
    add, extend = key.append, key.extend
    stack = list(members)
    while stack:
        sub = stack.pop()
        if sub is None:  # a child slot registered as None
            add(None)
            continue
        add(id(sub))
        add(type(sub))
        children = sub._modules
        if children:
            add(tuple(children))
            stack.extend(children.values())
        for table in (sub._parameters, sub._buffers):
            if table:
                add(tuple(table))
                extend(map(id, table.values()))
                extend([t.shape for t in table.values() if t is not None])
    return tuple(key)


def _memoised(fn: _F) -> _F:
    """Memoise ``fn(members, *args)`` on (its name, :func:`structure_key` of the members, args)."""

    name = fn.__name__

    @functools.wraps(fn)
    def wrapper(members: Sequence[nn.Module], *args: Any) -> Any:
        key = (name, structure_key(members), args)
        value = _memo_cache.get(key, _MISSING)
        if value is _MISSING:
            if len(_memo_cache) > 4096:
                _memo_cache.clear()
            value = _memo_cache[key] = fn(members, *args)
        return value

    return wrapper  # type: ignore[return-value]


@_memoised
def same_architecture(members: Sequence[nn.Module]) -> bool:
    """True when all members share class, submodule names and types (activations included: a member whose ReLU was
    swapped for a Tanh is another architecture) and parameter/buffer names and shapes."""

    def layout(m: nn.Module) -> tuple[list[Any], list[Any]]:
        modules = [(name, type(sub)) for name, sub in m.named_modules()]
        return modules, [(k, tuple(v.shape)) for k, v in m.state_dict().items()]

    first = layout(members[0])
    return all(type(m) is type(members[0]) and layout(m) == first for m in members)


def _has_running_stats(module: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.modules())


@_memoised
def _is_fusable_mlp(members: Sequence[nn.Module]) -> bool:
    from coterie.models.mlp import MLP

    return all(type(m) is MLP for m in members) and same_architecture(members)


@_memoised
def _is_fusable_lenet(members: Sequence[nn.Module]) -> bool:
    return lenet_supported(members[0]) and same_architecture(members)


@_memoised
def supported(members: Sequence[nn.Module], name: str) -> bool:
    """Whether executor ``name`` can run these members."""
    if name == "loop":
        return True
    if name == "fused":
        return _is_fusable_mlp(members) or _is_fusable_lenet(members)
    if name == "vmap":
        return same_architecture(members) and not any(_has_running_stats(m) for m in members)
    return False


@_memoised
def in_doubt(members: Sequence[nn.Module], device: torch.device | str = "cpu") -> bool:
    """True when no rule decides the executor and a timing probe should (see :mod:`.probe`).

    Rules that decide: one member or different architectures → loop; identical MLPs on CPU → fused; identical
    LeNet-5 on CPU → fused; BatchNorm members → loop (vmap cannot update running statistics); other convolutional
    members on CPU → loop (DESIGN.md: the loop beats vmap and naive grouped convolution). Everything else —
    identical members of other kinds, and every identical-member case on an accelerator (identical MLPs included:
    on an H200 the vmap recipe's few large kernels beat the fused MLP step, 0.84–0.92×, docs/performance.md) — is
    in doubt, and the probe keeps whichever candidate measured fastest.
    """
    cpu = torch.device(device).type == "cpu"
    if len(members) < 2 or (cpu and (_is_fusable_mlp(members) or _is_fusable_lenet(members))):
        return False
    if not supported(members, "vmap"):
        return False
    return not (cpu and _has_conv(members[0]))


@_memoised
def choose(members: Sequence[nn.Module], device: torch.device | str = "cpu") -> str:
    """The executor ``auto`` resolves to by rule: on CPU ``fused`` for identical MLP and LeNet-5 members; on an
    accelerator ``vmap`` for identical MLPs (measured faster than fused on an H200); else ``loop``.

    Other convolutional members stay on the loop: on CPU the loop beats vmap and grouped convolution (DESIGN.md).
    Cases :func:`in_doubt` flags (every identical-member case off the CPU) are settled by a one-off timing probe in
    :class:`~coterie.Ensemble` on the first training batch; this rule answers until then and where no probe runs
    (evaluation, a shard of the members).
    """
    cpu = torch.device(device).type == "cpu"
    if len(members) > 1 and _is_fusable_mlp(members):
        return "fused" if cpu else "vmap"
    if len(members) > 1 and cpu and _is_fusable_lenet(members):
        return "fused"
    return "loop"


def _has_conv(module: nn.Module) -> bool:
    return any(isinstance(m, nn.Conv2d) for m in module.modules())


def loop_forward(members: Sequence[nn.Module], x: Tensor) -> Tensor:
    """Members one after another: (B, ...) → (N, B, C). 4-D CPU inputs of conv members go in as channels_last."""
    if x.dim() == 4 and x.device.type == "cpu" and _has_conv(members[0]):
        x = x.contiguous(memory_format=torch.channels_last)
    return torch.stack([m(x) for m in members])


_stats_memo: dict[tuple[int, ...], tuple[list[Tensor], list[tuple[int, int]], bool]] = {}


def shared_input_stats(members: Sequence[nn.Module]) -> bool:
    """True when every member normalises its input with the same mean and std (then layer 1 is one product or one
    convolution for all members).

    A training forward asks this every step; the answer is memoised on the statistics tensors themselves (held, so
    their identities stay unique), their version counters (bumped by in-place writes) and storage addresses, and
    compared again only when one of them changed.
    """
    stats = [t for m in members for t in (m.input_mean, m.input_std)]
    marks = [(t._version, t.data_ptr()) for t in stats]
    key = tuple(map(id, members))
    hit = _stats_memo.get(key)
    if hit is not None and hit[1] == marks and all(a is b for a, b in zip(hit[0], stats)):
        return hit[2]
    mean, std = stats[0], stats[1]
    value = all(torch.equal(stats[k], mean) and torch.equal(stats[k + 1], std) for k in range(2, len(stats), 2))
    if len(_stats_memo) > 256:
        _stats_memo.clear()
    _stats_memo[key] = (stats, marks, value)
    return value


def fused_implementation(members: Sequence[nn.Module]) -> Callable[..., Tensor]:
    """The function behind the ``fused`` executor for these members: :func:`fused_mlp_forward` or
    :func:`~coterie.ensemble.fused_lenet.fused_lenet_forward` (both ``(members, x, shared_stats)``)."""
    return fused_lenet_forward if _is_fusable_lenet(members) else fused_mlp_forward


def fused_forward(
    members: Sequence[nn.Module], x: Tensor, shared_stats: bool | None = None, impl: ForwardFn | None = None
) -> Tensor:
    """The ``fused`` executor: identical MLP or LeNet-5 members, (B, ...) → (N, B, C). ``impl``: the
    :func:`fused_implementation` when the caller already knows it (:attr:`Plan.fused`)."""
    if shared_stats is None:
        shared_stats = shared_input_stats(members)
    return (impl or fused_implementation(members))(members, x, shared_stats)


@dataclass(frozen=True)
class Plan:
    """Every structural answer a forward needs, from one memoised lookup (:func:`plan`)."""

    choice: str  # what ``auto`` resolves to by rule (:func:`choose`)
    in_doubt: bool  # whether a timing probe should decide instead (:func:`in_doubt`)
    runnable: frozenset[str]  # the executors that can run these members (:func:`supported`)
    fused: Callable[..., Tensor] | None  # the fused implementation, when ``fused`` is runnable


@_memoised
def plan(members: Sequence[nn.Module], device: torch.device | str = "cpu") -> Plan:
    """:class:`Plan` for these members on ``device``: one structure key per forward instead of one per question."""
    runnable = frozenset(n for n in ("loop", "fused", "vmap") if supported(members, n))
    fused = fused_implementation(members) if "fused" in runnable else None
    return Plan(choose(members, device), in_doubt(members, device), runnable, fused)


def _tree(members: Sequence[nn.Module]) -> tuple[list[Any], list[tuple[str, ...]]]:
    """The members' submodules, parameters and buffers (the objects themselves), and their names, in a fixed order."""
    objects: list[Any] = []
    names: list[tuple[str, ...]] = []
    add, extend, name = objects.append, objects.extend, names.append
    stack = list(members)
    while stack:
        sub = stack.pop()
        add(sub)
        if sub is None:
            continue
        children, params, buffers = sub._modules, sub._parameters, sub._buffers
        if children:
            name(tuple(children))
            stack.extend(children.values())
        if params:
            name(tuple(params))
            extend(params.values())
        if buffers:
            name(tuple(buffers))
            extend(buffers.values())
    return objects, names


class PlanCache:
    """One ensemble's last :class:`Plan` and the objects of the member trees it was made for.

    The hot path of every forward: it walks the trees and compares each object by identity (and each name list by
    equality) with the last walk — about half the cost of :func:`structure_key`, with no hashing; only a changed
    tree asks :func:`plan`. The objects held are the ensemble's own (a replaced layer is released at the next
    forward), so the identity comparison is exact: no id can be reused while its object is held here.
    """

    def __init__(self) -> None:
        self._objects: list[Any] = []
        self._names: list[tuple[str, ...]] = []
        self._device: torch.device | None = None
        self._plan: Plan | None = None

    def get(self, members: Sequence[nn.Module], device: torch.device) -> Plan:
        objects, names = _tree(members)
        last = self._objects
        if (
            self._plan is not None
            and device == self._device
            and len(objects) == len(last)
            and all(map(operator.is_, objects, last))
            and names == self._names
        ):
            return self._plan
        self._objects, self._names, self._device = objects, names, device
        self._plan = plan(members, device)
        return self._plan

    def __reduce__(self) -> tuple[type[PlanCache], tuple[()]]:
        return (PlanCache, ())  # a copy (deepcopy, pickle) starts empty: its members are other objects


def fused_mlp_forward(members: Sequence[nn.Module], x: Tensor, shared_stats: bool | None = None) -> Tensor:
    """Identical MLP members as batched matrix products: (B, D) → (N, B, C).

    ``shared_stats``: the result of :func:`shared_input_stats` when the caller knows it (``torch.compile`` then sees
    no data-dependent branch); computed here when ``None``.
    """
    first = members[0]
    n = len(members)
    x = x.reshape(x.shape[0], -1)
    if shared_stats is None:
        shared_stats = shared_input_stats(members)
    if shared_stats:  # normalise once: (B, D), read by every member
        xn = (x - first.input_mean) / first.input_std
    else:  # (N, B, D), member i's statistics on slice i
        mean = torch.stack([m.input_mean for m in members])
        xn = (x.unsqueeze(0) - mean) / torch.stack([m.input_std for m in members])
    autocast = torch.is_autocast_enabled(x.device.type)  # the hand-written backward expects one dtype throughout
    if torch.is_grad_enabled() and not x.requires_grad and not autocast and relu_mlp_supported(first):
        # Training: the hand-written backward (fused_mlp.py) — the same numbers, fewer copies and buffers.
        return fused_relu_mlp(members, xn)
    linears = [f"fc{k}" for k in range(1, first.depth + 1)] + ["head"]
    h: Tensor | None = None
    for k, name in enumerate(linears):
        w = torch.stack([getattr(m, name).weight for m in members])  # (N, out, in)
        b = torch.stack([getattr(m, name).bias for m in members])  # (N, out)
        if h is None:
            # A shared input is read by every member through a stride-0 batch; the product writes a contiguous
            # (N, B, out) result, which keeps every later elementwise kernel on its fast path.
            first_in = xn.expand(n, *xn.shape) if shared_stats else xn
            h = torch.baddbmm(b.unsqueeze(1), first_in, w.transpose(1, 2))
        else:
            h = torch.baddbmm(b.unsqueeze(1), h, w.transpose(1, 2))
        if k < first.depth:
            act = getattr(first, f"act{k + 1}")
            # ReLU in place on the fresh matmul output (its backward needs only the result): one buffer less.
            h = torch.relu_(h) if type(act) is nn.ReLU else act(h)
    assert h is not None
    return h


def vmap_forward(members: Sequence[nn.Module], x: Tensor) -> Tensor:
    """``torch.func.vmap`` over stacked parameters and buffers: (B, ...) → (N, B, C).

    Each parameter and buffer is stacked once per call (``stack_module_state`` would stack the parameters a second
    time, detached, only to be discarded: one wasted copy kernel per parameter, which a launch-bound GPU step pays).
    """
    first = members[0]
    params = {k: torch.stack([m.get_parameter(k) for m in members]) for k, _ in first.named_parameters()}
    buffers = {k: torch.stack([m.get_buffer(k) for m in members]) for k, _ in first.named_buffers()}
    base = first

    def call(p: dict[str, Tensor], b: dict[str, Tensor], xx: Tensor) -> Tensor:
        return functional_call(base, (p, b), (xx,))

    return vmap(call, in_dims=(0, 0, None), randomness="different")(params, buffers, x)


ForwardFn = Callable[[Sequence[nn.Module], Tensor], Tensor]

FORWARDS: dict[str, ForwardFn] = {"loop": loop_forward, "fused": fused_forward, "vmap": vmap_forward}
