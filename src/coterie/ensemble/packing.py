"""Packed member parameters: the N members' copies of one parameter as consecutive slices of one (N, *shape) tensor.

The fused executors run N identical members as batched products over stacked weights (N, out, in). Stacking copies
every weight on every step, and the optimiser then updates 60 small tensors (10 three-layer MLPs) one kernel call
each. Packing places the members' parameters once into shared storage, layer by layer, so that

* the stacked weight of a layer *is* its pack, a (N, out, in) tensor read without a copy, and
* the gradients the fused backward returns (views of one (N, out, in) gradient) and the momentum buffers of
  :class:`coterie.training.packed_sgd.PackedSGD` are packed too, and one fused SGD kernel call updates a whole layer
  of all members.

Every member keeps its own ``nn.Parameter`` (a leaf; ``member.parameters()``, ``state_dict``, per-member optimiser
state, freezing and distributed broadcasts are unchanged); only its storage is a slice of the pack
(``param.data = pack[i]``, as FSDP's flat parameters do). A pack is a cache, not state: it is made on first use,
checked on every use (:meth:`ParameterPack.intact`, a pointer comparison per parameter), and made again when
something replaced a parameter's storage (``.to(device)``, ``load_state_dict(assign=True)``, ``p.data = ...``).
Copies and pickles of a member do not carry it.

Consequences of shared storage while members are packed: ``copy.deepcopy`` of a *single* member copies the whole
pack's storage (N times the member's size) and so does ``torch.save(member.state_dict())``; and ``safetensors``
refuses tensors that share memory, so coterie's checkpoints clone each tensor before writing it. The Trainer unpacks
the members when ``fit`` ends (:func:`unpack_members`), so a trained ensemble has none of these.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

_ATTR = "_coterie_pack"


def _no_pack() -> None:
    return None


@dataclass(eq=False)
class ParameterPack:
    """The parameters ``names`` of ``members`` in packed storage (made by :func:`pack_members`).

    Attributes:
        members: the member modules, in pack order.
        names: parameter names (as in ``named_parameters``), one pack each.
        params: ``params[k][i]`` is member i's parameter ``names[k]``.
        packs: ``packs[k]`` is the (N, *shape) tensor whose slice i is ``params[k][i]``; it does not require grad.
        ptrs: ``ptrs[k][i]`` is the address of slice i of ``packs[k]``.
    """

    members: tuple[nn.Module, ...]
    names: tuple[str, ...]
    params: list[list[nn.Parameter]]
    packs: list[Tensor]
    ptrs: list[list[int]]

    @functools.cached_property
    def flat(self) -> tuple[nn.Parameter, ...]:
        """Every packed parameter, pack by pack (``params`` flattened; made once: a pack never changes)."""
        return tuple(p for ps in self.params for p in ps)

    def intact(self) -> bool:
        """True while every parameter's storage is still its slice of the pack."""
        for ps, ptrs in zip(self.params, self.ptrs):
            for p, ptr in zip(ps, ptrs):
                if p.data_ptr() != ptr:
                    return False
        return True

    def covers(self, members: Sequence[nn.Module]) -> bool:
        """True when this pack holds exactly ``members``, in this order."""
        return len(members) == len(self.members) and all(a is b for a, b in zip(members, self.members))

    # A pack is a cache of a storage layout: copies and pickles of a parameter that refers to it drop it.
    def __deepcopy__(self, memo: dict) -> None:
        return None

    def __reduce__(self) -> tuple:
        return _no_pack, ()


def pack_of(param: Tensor) -> ParameterPack | None:
    """The pack ``param`` was placed in, or ``None``; check :meth:`ParameterPack.intact` before relying on it."""
    return getattr(param, _ATTR, None)


def pack_members(members: Sequence[nn.Module], names: Sequence[str]) -> ParameterPack:
    """The pack of ``members``' parameters ``names``: the existing one when it is intact and covers exactly these
    members, else a new one (the members' current values are copied into fresh packed storage).

    Raises:
        ValueError: the members' parameters ``names`` differ in shape, dtype or device.
    """
    existing = getattr(members[0].get_parameter(names[0]), _ATTR, None)
    if existing is not None and existing.names == tuple(names) and existing.covers(members) and existing.intact():
        return existing
    params: list[list[nn.Parameter]] = []
    packs: list[Tensor] = []
    for name in names:
        ps = [m.get_parameter(name) for m in members]
        ref = ps[0]
        if any(p.shape != ref.shape or p.dtype != ref.dtype or p.device != ref.device for p in ps):
            raise ValueError(f"cannot pack parameter {name!r}: the members differ in shape, dtype or device")
        with torch.no_grad():
            packed = torch.stack([p.detach() for p in ps])  # (N, *shape), fresh contiguous storage
        for i, p in enumerate(ps):
            p.data = packed[i]
        params.append(ps)
        packs.append(packed)
    ptrs = [[p.data_ptr() for p in ps] for ps in params]
    pack = ParameterPack(tuple(members), tuple(names), params, packs, ptrs)
    for ps in params:
        for p in ps:
            setattr(p, _ATTR, pack)
    log.debug("packed %d parameters of %d members", len(names), len(members))
    return pack


def unpack_members(members: Sequence[nn.Module]) -> int:
    """Give every packed parameter of ``members`` storage of its own again (a copy of its current value) and drop
    its pack; returns how many parameters were unpacked.

    The :class:`~coterie.training.Trainer` calls this when ``fit`` ends, so that a trained ensemble's members are
    ordinary modules again: ``save_file(member.state_dict())`` (safetensors refuses shared storage),
    ``copy.deepcopy(member)`` and ``torch.save(member.state_dict())`` then hold one member's data, not the pack's. The
    next training forward packs them again (one copy).
    """
    count = 0
    with torch.no_grad():
        for m in members:
            for p in m.parameters():
                if getattr(p, _ATTR, None) is not None:
                    p.data = p.detach().clone()
                    delattr(p, _ATTR)
                    count += 1
    return count
