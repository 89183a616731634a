"""The merge-method registry: how one pair of models becomes one model.

Every entry is called as ``method(a, b, *, fitness_data, bn_data, seed, **kwargs) -> (merged, history)`` where
``history`` is MeGA's :class:`~coterie.merging.mega.MegaHistory` as a dict, or ``None`` for methods without one.
:func:`coterie.merging.hierarchical` looks its ``method`` up here; register a new pairwise merge with
``MERGE_METHODS.add(name, fn)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from coterie.merging.average import average
from coterie.merging.data import DataArg
from coterie.merging.mega import mega
from coterie.utils.registry import Registry

PairMethod = Callable[..., tuple[nn.Module, "dict[str, Any] | None"]]

MERGE_METHODS: Registry[PairMethod] = Registry("merge method")


@MERGE_METHODS.register("average")
def average_pair(
    a: nn.Module,
    b: nn.Module,
    *,
    fitness_data: DataArg | None = None,
    bn_data: DataArg | None = None,
    seed: int = 0,
    **_: Any,
) -> tuple[nn.Module, None]:
    """Uniform weight average of ``a`` and ``b`` (no fitness, no history; MeGA's options are ignored)."""
    return average([a, b]), None


@MERGE_METHODS.register("mega")
def mega_pair(
    a: nn.Module,
    b: nn.Module,
    *,
    fitness_data: DataArg | None = None,
    bn_data: DataArg | None = None,
    seed: int = 0,
    **kwargs: Any,
) -> tuple[nn.Module, dict[str, Any]]:
    """MeGA on the pair (:func:`coterie.merging.mega`; ``kwargs``: population, generations, genome, ...)."""
    if fitness_data is None:
        raise ValueError("MeGA needs fitness_data (a validation split)")
    merged, history = mega([a, b], fitness_data, bn_data=bn_data, seed=seed, **kwargs)
    return merged, history.to_dict()
