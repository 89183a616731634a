"""SGD that updates packed member parameters one pack at a time.

With packed members (:mod:`coterie.ensemble.packing`) a layer's parameters of all N members are consecutive
slices of one (N, *shape) tensor, and so are the gradients the fused backward returns. :class:`PackedSGD` then
keeps the momentum buffers packed as well and hands torch's fused SGD kernel one tensor per layer instead of one
per member and layer (6 instead of 60 for 10 three-layer MLPs): the same kernel, the same arithmetic on every
element, fewer calls and no per-parameter Python bookkeeping. It is :class:`torch.optim.SGD` (``fused=True``) in
everything else — the per-parameter state (``state[p]["momentum_buffer"]``, a slice of the packed buffer),
``state_dict``/``load_state_dict``, hooks — and it falls back to ``SGD.step`` for any step where the layout does not
hold (unpacked parameters, a frozen member's parameters missing from a group, gradients that are not slices of one
tensor, a closure, gradient scaling, tensor learning rates).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from coterie.ensemble.packing import ParameterPack, pack_of


def _made_from(entry: tuple | None, packed: Tensor, tensors: list) -> bool:
    """Whether a memo entry ``(pack, tensors, ...)`` was made for ``packed`` from these very tensor objects."""
    return entry is not None and entry[0] is packed and all(map(operator.is_, tensors, entry[1]))


def _packed_view(tensors: list[Tensor], like: Tensor, ptrs: list[int] | None = None) -> Tensor | None:
    """``tensors`` as one (N, *shape) tensor when they lie contiguously one after another in memory, inside the
    first one's storage; else ``None``. ``like``: the (N, *shape) pack they mirror; ``ptrs``: their addresses, when
    the caller has them.

    Addresses decide it: tensor i must start where tensor i-1 ends, and the first one's storage must extend over
    all N (distinct allocations never overlap, so the view then covers exactly these tensors' memory). Gradients that
    autograd stored from the fused backward's views pass (they are detached aliases of one (N, *shape) gradient).
    """
    first = tensors[0]
    n = len(tensors)
    step = first.numel() * first.element_size()
    ptr = first.data_ptr()
    if (ptrs or list(map(Tensor.data_ptr, tensors))) != list(range(ptr, ptr + n * step, step)):
        return None
    if not all(map(Tensor.is_contiguous, tensors)):
        return None
    base = first._base  # the fused backward's (N, *shape) gradient, when autograd kept its views
    if base is not None and base.data_ptr() == ptr and base.shape == like.shape and base.is_contiguous():
        return base  # spans exactly the N tensors (same start, N slices of their size): no storage check needed
    storage = first.untyped_storage()
    if ptr + n * step > storage.data_ptr() + storage.nbytes():
        return None
    return first.as_strided(like.shape, like.stride(), first.storage_offset())


class PackedSGD(torch.optim.SGD):
    """:class:`torch.optim.SGD` with ``fused=True`` whose step runs one kernel call per packed layer.

    Same arguments and results as ``torch.optim.SGD(params, ..., fused=True)``; tests hold the two to float rounding
    (the kernel's vector body and scalar tail fall on other elements when tensors are joined) over several steps, with
    momentum, dampening, Nesterov, weight decay, maximisation and frozen members.
    """

    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        if closure is None and self._step_packed():
            return None
        return super().step(closure)

    @torch.no_grad()
    def _step_packed(self) -> bool:
        """One fused-kernel call per packed layer; False (nothing changed) when the layout does not hold."""
        if getattr(self, "grad_scale", None) is not None or getattr(self, "found_inf", None) is not None:
            return False
        plans = []
        for group in self.param_groups:
            if group["differentiable"] or not group["fused"] or isinstance(group["lr"], Tensor):
                return False
            plan = self._plan(group)
            if plan is None:
                return False
            plans.append((group, plan))
        for group, plan in plans:
            self._update(group, plan)
        return True

    def _runs(self, group: dict[str, Any]) -> list[tuple[list[nn.Parameter], Tensor]] | None:
        """The group's packed layers as (member parameters, parameter pack), or None when the group is not exactly a
        union of intact packs. Cached per group; the cache holds while the group's parameter list and every pack
        stay as they were (a rebuilt pack is a new object, a replaced storage fails ``intact``)."""
        params = group["params"]
        cache = self._memo("runs")
        hit = cache.get(id(group))
        if hit is not None and hit[0] is group and hit[1] is params and hit[2] == len(params):
            if all(pack.intact() for pack in hit[3]):
                return hit[4]
        packs: dict[int, ParameterPack] = {}
        for p in params:
            pack = pack_of(p)
            if pack is None:
                return None
            packs[id(pack)] = pack
        if not all(pack.intact() for pack in packs.values()):
            return None
        runs = [(ps, packed) for pack in packs.values() for ps, packed in zip(pack.params, pack.packs)]
        if sum(len(ps) for ps, _ in runs) != len(params) or len({id(p) for p in params}) != len(params):
            return None  # the group holds only part of a pack (e.g. a frozen member's parameters are left out)
        cache[id(group)] = (group, params, len(params), list(packs.values()), runs)
        live = {id(packed) for entry in cache.values() for _, packed in entry[4]}
        for memo in (self._memo("momenta"), self._memo("grads")):  # entries of packs that were rebuilt go
            for key in [k for k in memo if k not in live]:
                del memo[key]
        return runs

    def _memo(self, name: str) -> dict[int, tuple]:
        """The optimiser's memo ``name``, created on first use: runs (id(group) -> its packed layers), momenta
        (id(pack) -> (pack, buffer slices, buffer pack)), grads (id(pack) -> (pack, gradients, gradient pack, their
        addresses))."""
        return self.__dict__.setdefault(f"_coterie_{name}", {})

    def _plan(self, group: dict[str, Any]) -> list[tuple[list[nn.Parameter], Tensor, Tensor, Tensor | None]] | None:
        """Per packed layer of this group: (parameters, parameter pack, gradient pack, momentum pack or None to
        create), or None when the group is not exactly a union of intact packs with packed gradients."""
        runs = self._runs(group)
        if runs is None:
            return None
        momentum = group["momentum"] != 0
        momenta = self._memo("momenta")
        plan = []
        for ps, packed in runs:
            grads = [p.grad for p in ps]
            gpack = self._known_grads(packed, grads)
            if gpack is None:  # not the gradients verified last: verify the layout in full
                if any(g is None or g.is_sparse for g in grads):
                    return None
                ptrs = list(map(Tensor.data_ptr, grads))  # type: ignore[arg-type]
                gpack = _packed_view(grads, packed, ptrs)  # type: ignore[arg-type]
                if gpack is None:
                    return None
                self._memo("grads")[id(packed)] = (packed, grads, gpack, ptrs)
            mpack = None
            if momentum:
                bufs = [self.state[p].get("momentum_buffer") for p in ps]
                known = momenta.get(id(packed))
                if _made_from(known, packed, bufs):
                    mpack = known[2]  # the packed buffer this optimiser made: its slices are still the state
                elif all(b is None for b in bufs):
                    mpack = None  # first step: created in _update
                elif any(b is None for b in bufs):
                    return None
                else:
                    mpack = _packed_view(bufs, packed)  # type: ignore[arg-type]
                    if mpack is None:  # e.g. after load_state_dict: pack the buffers once
                        mpack = torch.stack(bufs)  # type: ignore[arg-type]
                        for p, m in zip(ps, mpack.unbind(0)):
                            self.state[p]["momentum_buffer"] = m
                    momenta[id(packed)] = (packed, [self.state[p]["momentum_buffer"] for p in ps], mpack)
            plan.append((ps, packed, gpack, mpack))
        return plan

    def _known_grads(self, packed: Tensor, grads: list[Tensor | None]) -> Tensor | None:
        """The gradient pack of ``grads`` when they are, object for object, the gradients verified for ``packed``
        last and still at the addresses verified then; else ``None`` (verify in full). Gradients persist across steps
        with ``zero_grad(set_to_none=False)`` or several steps per backward; a gradient replaced by, or accumulated
        into, a fresh tensor is not recognised.

        Fresh gradients (``set_to_none=True``) cannot be recognised this way: the fused backward's slices are only
        stored without a copy when nothing else holds them (autograd's ``AccumulateGrad`` copies a gradient that has
        other references), so they are verified in full every step (``_packed_view``)."""
        entry = self._memo("grads").get(id(packed))
        if not _made_from(entry, packed, grads):
            return None
        return entry[2] if list(map(Tensor.data_ptr, grads)) == entry[3] else None  # type: ignore[arg-type]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """:meth:`torch.optim.Optimizer.zero_grad`; with ``set_to_none`` the gradients remembered by
        :meth:`_known_grads` are let go too, so that no step's gradients outlive it here (gradients cleared by other
        means, e.g. ``module.zero_grad()``, stay referenced until the next step replaces them)."""
        if set_to_none:
            self.__dict__.pop("_coterie_grads", None)
        super().zero_grad(set_to_none)

    def _update(self, group: dict[str, Any], plan: list) -> None:
        momentum = group["momentum"] != 0
        # torch's fused kernel sets the buffer to the gradient on a first step; runs differ only in that flag
        for first in (False, True):
            ps_all, packs, gpacks, mpacks = [], [], [], []
            for ps, packed, gpack, mpack in plan:
                if momentum and (mpack is None) != first:
                    continue
                if not momentum and first:
                    continue
                if momentum and mpack is None:
                    mpack = torch.empty_like(packed)
                    views = list(mpack.unbind(0))
                    for p, m in zip(ps, views):
                        self.state[p]["momentum_buffer"] = m
                    self._memo("momenta")[id(packed)] = (packed, views, mpack)
                ps_all.extend(ps)
                packs.append(packed)
                gpacks.append(gpack)
                mpacks.append(mpack)
            if not packs:
                continue
            torch._fused_sgd_(
                packs,
                gpacks,
                mpacks if momentum else [],
                weight_decay=group["weight_decay"],
                momentum=group["momentum"],
                lr=group["lr"],
                dampening=group["dampening"],
                nesterov=group["nesterov"],
                maximize=group["maximize"],
                is_first_step=first,
                grad_scale=None,
                found_inf=None,
            )
            torch.autograd.graph.increment_version(ps_all)  # the parameters changed through their packs
