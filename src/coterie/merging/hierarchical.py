"""Hierarchical merging of many models by pairwise merges up a tree: 8 → 4 → 2 → 1 (seed 003 §4.3, Fig. 3).

Models are paired in order, (0, 1), (2, 3), ...; each pair is merged into one model of the next level. With an odd
count the last model is carried up a level unmerged.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from coterie.merging.align import align as align_fn
from coterie.merging.bn import has_batchnorm, recompute
from coterie.merging.data import DataArg
from coterie.merging.methods import MERGE_METHODS, PairMethod
from coterie.merging.state import check_compatible

log = logging.getLogger(__name__)

PairMerge = Callable[[nn.Module, nn.Module], nn.Module]


@dataclass
class HierarchyRecord:
    """What each level of the tree did.

    Attributes:
        levels: per level, a list of merges ``{"pair": (i, j), "history": MegaHistory dict or None}``; a carried
            model appears as ``{"carried": i}``.
    """

    levels: list[list[dict[str, Any]]] = field(default_factory=list)


def _pair_method(method: str | PairMerge) -> PairMethod:
    """The registered merge method ``method``, or a user callable ``(a, b) -> merged`` in the same calling form."""
    if not callable(method):
        if method not in MERGE_METHODS:
            raise ValueError(f"unknown method {method!r}; use one of {MERGE_METHODS.names()} or a callable")
        return MERGE_METHODS.get(method)
    user = method

    def user_pair(a: nn.Module, b: nn.Module, **_: Any) -> tuple[nn.Module, None]:
        return user(a, b), None

    return user_pair


def hierarchical(
    models: Sequence[nn.Module],
    method: str | PairMerge = "mega",
    *,
    fitness_data: DataArg | None = None,
    bn_data: DataArg | None = None,
    align: bool = False,
    repair_bn: bool = False,
    seed: int = 0,
    **method_kwargs: Any,
) -> tuple[nn.Module, HierarchyRecord]:
    """Merge ``models`` pairwise, level by level, into one model.

    Args:
        models: M ≥ 1 models of one architecture.
        method: a name in :data:`~coterie.merging.methods.MERGE_METHODS` (``"mega"``: :func:`coterie.merging.mega`,
            needs ``fitness_data``; ``"average"``), or a callable ``(a, b) -> merged``.
        fitness_data: validation data for MeGA's fitness (never test data).
        bn_data: training data for BatchNorm statistics: passed to MeGA (candidates scored with repaired statistics)
            and, with ``repair_bn``, used to repair every intermediate model.
        align: permutation-align the second model of each pair to the first before merging.
        repair_bn: re-estimate BatchNorm statistics of each merged model on ``bn_data``.
        seed: MeGA seed of the first merge; merge k uses ``seed + k``.
        **method_kwargs: passed to :func:`coterie.merging.mega` (population, generations, genome, ...).

    Returns:
        ``(merged_model, record)``.
    """
    if len(models) == 0:
        raise ValueError("need at least one model")
    check_compatible(models)
    if repair_bn and bn_data is None:
        raise ValueError("repair_bn=True needs bn_data")
    if method == "mega" and fitness_data is None and len(models) > 1:
        raise ValueError("hierarchical MeGA needs fitness_data (a validation split)")
    pair = _pair_method(method)
    record = HierarchyRecord()
    level = list(models)
    k = 0
    while len(level) > 1:
        nxt, info = [], []
        for i in range(0, len(level) - 1, 2):
            a, b = level[i], level[i + 1]
            if align:
                b = align_fn(a, b)
            bn = bn_data if has_batchnorm(a) else None
            merged, hist = pair(a, b, fitness_data=fitness_data, bn_data=bn, seed=seed + k, **method_kwargs)
            if repair_bn:
                recompute(merged, bn_data)
            nxt.append(merged)
            info.append({"pair": (i, i + 1), "history": hist})
            k += 1
        if len(level) % 2 == 1:
            nxt.append(level[-1])
            info.append({"carried": len(level) - 1})
        log.info("hierarchical merge: level %d, %d -> %d models", len(record.levels) + 1, len(level), len(nxt))
        record.levels.append(info)
        level = nxt
    return (copy.deepcopy(level[0]) if level[0] is models[0] else level[0]), record
