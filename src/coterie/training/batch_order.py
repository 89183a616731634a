"""The seeded order in which an epoch visits the training samples: shared by all members or one per member, as a
permutation or a bootstrap resample.

Every order is a pure function of ``(seed, epoch[, member])``, so a resumed run (or a single-member run given member
i's stream) visits exactly the samples an uninterrupted run does. Streams of :func:`epoch_generator`: 0 the shared
data order, 1 the objective's per-epoch randomness, 2 augmentation, ``MEMBER_STREAM + i`` member i's own order.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import torch
from torch import Tensor

DataOrder = Literal["shared", "per_member"]
DATA_ORDERS: tuple[str, ...] = ("shared", "per_member")
MEMBER_STREAM = 1000


def epoch_generator(seed: int, epoch: int, stream: int = 0) -> torch.Generator:
    """A CPU generator determined by (seed, epoch, stream) alone, so resumed runs draw the same numbers."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 7919 + stream)


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None) -> Iterator[Tensor]:
    """Shuffled (or, without a generator, sequential) index batches covering ``range(n)``."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def _draw(n: int, bootstrap: bool, g: torch.Generator) -> Tensor:
    return torch.randint(n, (n,), generator=g) if bootstrap else torch.randperm(n, generator=g)


def epoch_order(n: int, seed: int, epoch: int, order: DataOrder, bootstrap: bool, members: int) -> Tensor:
    """Sample indices of one epoch over a dataset of ``n`` samples.

    ``shared``: (n,), a permutation from stream 0 (with ``bootstrap``: n draws with replacement from stream 0, one
    resample that every member trains on). ``per_member``: (members, n), row i from stream ``MEMBER_STREAM + i``
    (with ``bootstrap``, each member's own resample: bagging).
    """
    if order == "shared":
        return _draw(n, bootstrap, epoch_generator(seed, epoch))
    if order == "per_member":
        rows = [_draw(n, bootstrap, epoch_generator(seed, epoch, MEMBER_STREAM + i)) for i in range(members)]
        return torch.stack(rows)
    raise ValueError(f"unknown data_order {order!r}; choose from {DATA_ORDERS}")


def order_batches(order: Tensor, batch_size: int) -> Iterator[Tensor]:
    """Consecutive batches along the last axis of an epoch order: (b,) or (N, b) index tensors."""
    n = order.shape[-1]
    for start in range(0, n, batch_size):
        yield order[..., start : start + batch_size]
