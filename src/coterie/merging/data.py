"""Data arguments of the merging functions, and the guard that keeps the test split out of every choice.

Every merging function that looks at data takes it through separately named arguments with one *role* each:

- ``fitness_data`` — scores candidates (MeGA's fitness, hierarchical pair selection). A validation split.
- ``bn_data`` — re-estimates BatchNorm running statistics (:func:`coterie.merging.bn.recompute`). Training data.
- ``test_data`` — only :func:`coterie.merging.evaluate`, which reports a number and chooses nothing.

A data argument is an ``(x, y)`` pair of tensors, a :class:`coterie.data.TensorData`, a ``DataLoader`` (or any
iterable of ``(x, y)`` batches), or a :class:`coterie.data.Splits` — from which each role takes its own split
(fitness → ``val``, BatchNorm → ``train``, test → ``test``), so passing the whole split object cannot leak the
test split into a choice. Test data wrapped with :func:`held_out` (or a ``TensorData`` whose ``name`` ends in
``":test"``) is refused by the fitness and BatchNorm roles with a ``TypeError``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor

Role = Literal["fitness", "bn", "test"]

_SPLIT_FOR_ROLE: dict[str, str] = {"fitness": "val", "bn": "train", "test": "test"}


@dataclass(frozen=True)
class HeldOut:
    """Test data, marked so that no merging function can use it for fitness or BatchNorm statistics."""

    data: Any


DataArg = Any  # (x, y) | TensorData | Splits | DataLoader / iterable of (x, y) | HeldOut


def held_out(data: Any) -> HeldOut:
    """Mark ``data`` as the test split: accepted only as ``test_data``."""
    return data if isinstance(data, HeldOut) else HeldOut(data)


def _is_test_tensor_data(data: Any) -> bool:
    name = getattr(data, "name", "")
    return isinstance(name, str) and name.endswith(":test")


def as_batches(
    data: DataArg, *, role: Role, batch_size: int = 1024, device: torch.device | str | None = None
) -> list[tuple[Tensor, Tensor]]:
    """Materialise a data argument as a list of ``(x, y)`` batches on ``device``.

    Args:
        data: see the module docstring.
        role: ``fitness``, ``bn`` or ``test``; decides which split of a ``Splits`` is taken and whether held-out
            data is allowed.
        batch_size: batch size used when splitting tensors (a ``DataLoader`` keeps its own batches).
        device: where the batches go (default: where they are).

    Returns:
        Batches ``[(x (B, ...), y (B,)), ...]``.

    Raises:
        TypeError: held-out (test) data given for the fitness or BatchNorm role, or an unsupported object.
        ValueError: empty data.
    """
    if role not in _SPLIT_FOR_ROLE:
        raise ValueError(f"unknown data role {role!r}")
    if isinstance(data, HeldOut):
        if role != "test":
            raise TypeError(
                f"held-out (test) data given as {role} data: the test split may only be used by "
                "coterie.merging.evaluate(model, test_data)"
            )
        data = data.data
    if all(hasattr(data, s) for s in ("train", "val", "test")) and not isinstance(data, (tuple, list)):
        data = getattr(data, _SPLIT_FOR_ROLE[role])
    if role != "test" and _is_test_tensor_data(data):
        raise TypeError(f"data named {data.name!r} is a test split and cannot be used as {role} data")
    if hasattr(data, "tensors") and callable(data.tensors) and hasattr(data, "x"):
        data = data.tensors()
    batches: list[tuple[Tensor, Tensor]]
    if isinstance(data, (tuple, list)) and len(data) == 2 and all(isinstance(t, Tensor) for t in data):
        x, y = data
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but y has {y.shape[0]}")
        batches = list(zip(x.split(batch_size), y.split(batch_size)))
    elif isinstance(data, Iterable):
        batches = []
        for item in data:
            if not (isinstance(item, (tuple, list)) and len(item) >= 2):
                raise TypeError("an iterable data argument must yield (x, y) batches")
            batches.append((item[0], item[1]))
    else:
        raise TypeError(f"unsupported {role} data of type {type(data).__name__}; pass (x, y), a DataLoader or Splits")
    if not batches or sum(int(x.shape[0]) for x, _ in batches) == 0:
        raise ValueError(f"{role} data is empty")
    if device is not None:
        batches = [(x.to(device), y.to(device)) for x, y in batches]
    return batches
