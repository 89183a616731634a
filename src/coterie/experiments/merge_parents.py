"""How ``experiment: merge`` trains its parents: own initialisation, own data order, and which training samples.

``parents.data``:

- ``same``: every parent trains on the whole training split (one Trainer for all of them; ``parents.data_order``
  ``per_member`` gives parent i its own seeded shuffle, ``shared`` one shuffle for all).
- ``disjoint``: the training split is shuffled once (seeded) and cut into ``members`` parts of equal size (±1):
  halves for a pair (``members: 2``), eighths for the 8-parent hierarchy. Every training sample is seen by exactly
  one parent.
- ``overlapping``: parent i sees a circular window of ``fraction · n`` samples of that shuffle starting at
  ``i · n / members``, so every sample is seen by ``fraction · members`` parents and neighbours (the hierarchy's
  first-level pairs 0–1, 2–3, ...) share ``(fraction − 1 / members) · n`` samples; parents further apart than
  ``fraction · members`` share none. ``fraction = 1 / members`` is ``disjoint``.

With ``disjoint`` / ``overlapping`` each parent is trained by its own Trainer on its own samples, seeded
``seed · 1000 + i`` (so its data order is its own whatever ``data_order`` says). Initialisation is always the
parent's own: member i is built with seed ``seed · 1000 + i`` (:func:`coterie.experiments.build.build_ensemble`).
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field, model_validator
from torch import Tensor

from coterie.config import Strict

ParentsData = Literal["same", "disjoint", "overlapping"]
#: stream offset of the partition's generator (distinct from the Trainer's epoch streams)
PARTITION_STREAM = 7_777


class ParentsConfig(Strict):
    """Independence of the parents: data order and training-data partition (see the module docstring)."""

    data: ParentsData = "same"
    data_order: Literal["shared", "per_member"] = Field(
        default="per_member",
        description="same data: per_member (own shuffle per parent, independent training) or shared (one shuffle)",
    )
    fraction: float | None = Field(
        default=None, gt=0.0, le=1.0, description="overlapping: each parent's share of the training split"
    )

    @model_validator(mode="after")
    def _fraction_only_when_overlapping(self) -> ParentsConfig:
        if self.data == "overlapping" and self.fraction is None:
            raise ValueError("parents.fraction is required with parents.data: overlapping (e.g. 0.25)")
        if self.data != "overlapping" and self.fraction is not None:
            raise ValueError(f"parents.fraction is only used with parents.data: overlapping, not {self.data!r}")
        return self


def parent_indices(n: int, members: int, data: ParentsData, fraction: float | None, seed: int) -> list[Tensor] | None:
    """Training-sample indices of each parent (``members`` 1-D int64 tensors into ``range(n)``), or ``None`` for
    ``same`` (every parent uses all ``n``). Deterministic in ``(n, members, data, fraction, seed)``."""
    if data == "same":
        return None
    if data not in ("disjoint", "overlapping"):
        raise ValueError(f"unknown parents.data {data!r}; choose from same, disjoint, overlapping")
    if n < members:
        raise ValueError(f"cannot split {n} training samples among {members} parents")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed * 1_000_003 + PARTITION_STREAM))
    starts = [i * n // members for i in range(members + 1)]
    if data == "disjoint":
        return [perm[starts[i] : starts[i + 1]].clone() for i in range(members)]
    assert fraction is not None
    size = round(fraction * n)
    if size < -(-n // members):
        raise ValueError(
            f"parents.fraction={fraction} gives {size} samples per parent, fewer than the {-(-n // members)} of a "
            f"disjoint split into {members}; use parents.data: disjoint or a larger fraction"
        )
    return [perm[(starts[i] + torch.arange(size)) % n].clone() for i in range(members)]
