"""What ``Trainer.fit`` accepts as data, adapted to one interface.

- (x, y) tensors or a :class:`~coterie.data.TensorData`: indexed in memory with the seeded order of
  :mod:`coterie.training.batch_order` (the fast path; its numbers are those of every earlier release).
- a map-style :class:`torch.utils.data.Dataset` yielding (x, y): the same seeded index order, fetched and collated
  by a :class:`~torch.utils.data.DataLoader` (``workers`` processes, pinned memory on CUDA), so resume is exact. A
  ``TensorDataset`` of two tensors is indexed in memory directly (the same batches, without per-item fetching). A
  Dataset with ``__getitems__`` (PyTorch's batched-fetch protocol) is asked for whole batches. Worker processes
  return batches through reusable shared-memory slots (:mod:`coterie.training.slot_loading`), not a new
  shared-memory segment per batch; the batches are the same whichever way they are loaded.
- a :class:`~torch.utils.data.DataLoader` or any re-iterable of (x, y) batches: used as it is, in its own order;
  the Trainer cannot choose or replay that order, so ``per_member``, ``bootstrap`` and a mid-run resume's batch
  order are not available (resume restarts at the epoch boundary, and says so). On CUDA, give it
  ``pin_memory=True``: batches are copied to the device with ``non_blocking=True``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler, TensorDataset

from coterie.data.dataset import TensorData
from coterie.training.batch_order import DataOrder, epoch_order, order_batches
from coterie.training.slot_loading import PREFETCH, SlotDataset, SlotJob, collate_as_is, make_slots, take

Batch = tuple[Tensor, Tensor]
ALLOWED = "(x, y) tensors, TensorData, a torch Dataset of (x, y) items, or a DataLoader / re-iterable of (x, y) batches"


@dataclass(frozen=True)
class BatchPlan:
    """How the Trainer wants an epoch served: batch size and the seeded order (see :func:`epoch_order`)."""

    seed: int
    batch_size: int
    order: DataOrder = "shared"
    bootstrap: bool = False
    members: int = 1
    max_steps: int | None = None


def _describe(obj: Any) -> str:
    if isinstance(obj, (tuple, list)):
        return f"a {type(obj).__name__} of length {len(obj)}"
    return f"a {type(obj).__name__}"


def check_pair(obj: Any, what: str) -> Batch:
    """``obj`` as an (x, y) pair of tensors (numbers and arrays converted); else a one-line ``TypeError``."""
    if not isinstance(obj, (tuple, list)) or len(obj) != 2:
        raise TypeError(f"{what} must be an (x, y) pair, got {_describe(obj)}")
    x, y = obj
    try:
        return torch.as_tensor(x), torch.as_tensor(y)
    except (TypeError, ValueError, RuntimeError) as e:
        got = f"({_describe(x)}, {_describe(y)})"
        raise TypeError(f"{what} must be an (x, y) pair of tensors or numbers, got {got}") from e


class TensorSource:
    """In-memory (x, y): inputs (M, ...) and labels (M,), indexed batch by batch."""

    exact_order = True

    def __init__(self, x: Tensor, y: Tensor, role: str = "training") -> None:
        if not isinstance(x, Tensor) or not isinstance(y, Tensor):
            raise TypeError(f"data must be {ALLOWED}; got a pair of ({_describe(x)}, {_describe(y)})")
        if x.shape[0] != y.shape[0]:
            raise ValueError(f"x has {x.shape[0]} samples but y has {y.shape[0]}")
        if x.shape[0] == 0:
            raise ValueError(f"the {role} data is empty")
        self.x, self.y = x, y

    def first_input(self) -> Tensor:
        return self.x[:1]

    def all_labels(self) -> Tensor | None:
        return self.y

    def train_batches(self, epoch: int, plan: BatchPlan) -> Iterator[Batch]:
        """Batches (B, ...), (B,) in shared order, (N, B, ...), (N, B) per member."""
        order = epoch_order(self.x.shape[0], plan.seed, epoch, plan.order, plan.bootstrap, plan.members)
        for step, idx in enumerate(order_batches(order, plan.batch_size)):
            if plan.max_steps is not None and step >= plan.max_steps:
                return
            if self.x.device != idx.device:
                idx = idx.to(self.x.device)
            yield self.x[idx], self.y[idx]

    def eval_batches(self, batch_size: int) -> Iterator[Batch]:
        for i in range(0, self.x.shape[0], batch_size):
            yield self.x[i : i + batch_size], self.y[i : i + batch_size]


class _EpochBatches(Sampler[Any]):
    """A batch sampler whose batches the Trainer sets before each epoch (kept across epochs, so persistent workers
    survive)."""

    def __init__(self) -> None:
        self.batches: list[Any] = []  # index lists, or SlotJobs with workers

    def __iter__(self) -> Iterator[Any]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class DatasetSource:
    """A map-style Dataset of (x, y) items, served in the Trainer's seeded order through a DataLoader."""

    exact_order = True

    def __init__(self, dataset: Dataset, workers: int = 0, pin_memory: bool = False, role: str = "training") -> None:
        try:
            n = len(dataset)  # type: ignore[arg-type]
        except TypeError:
            raise TypeError(f"a map-style Dataset needs __len__; {type(dataset).__name__} has none") from None
        if n == 0:
            raise ValueError(f"the {role} data is empty")
        self.dataset, self.n, self.workers, self.pin = dataset, n, workers, pin_memory
        self._first_item = dataset[0]  # as the Dataset gives it: the slots take default_collate's dtypes
        self.first = check_pair(self._first_item, f"items of {type(dataset).__name__}")
        self._sampler = _EpochBatches()
        self._loader: DataLoader | None = None
        self._slots: tuple[Tensor, Tensor] = (torch.empty(0), torch.empty(0))

    def first_input(self) -> Tensor:
        return self.first[0].unsqueeze(0)

    def all_labels(self) -> Tensor | None:
        if isinstance(self.dataset, TensorDataset) and len(self.dataset.tensors) == 2:
            return self.dataset.tensors[1]
        targets = getattr(self.dataset, "targets", None)
        return torch.as_tensor(targets) if targets is not None else None

    def _loader_for_training(self, capacity: int) -> DataLoader:
        """Built once (its workers persist across epochs). With workers, batches come back through shared-memory
        slots sized for ``capacity`` items (see :mod:`coterie.training.slot_loading`)."""
        if self._loader is None and self.workers > 0:
            self._slots = make_slots(self._first_item, self.workers * PREFETCH + 1, capacity)
            self._loader = DataLoader(
                SlotDataset(self.dataset, *self._slots),
                batch_sampler=self._sampler,
                num_workers=self.workers,
                collate_fn=collate_as_is,
                persistent_workers=True,
                prefetch_factor=PREFETCH,
            )
        elif self._loader is None:
            self._loader = DataLoader(self.dataset, batch_sampler=self._sampler, pin_memory=self.pin)
        return self._loader

    def _unpack(self, got: Any) -> Batch:
        if self.workers == 0:
            return check_pair(got, "batches")
        if got[0] == "slot":
            return take(got[1], got[2], *self._slots, pin=self.pin)
        xb, yb = check_pair(got[1], "batches")  # items that did not fit the slots, collated by default_collate
        return (xb.pin_memory(), yb.pin_memory()) if self.pin else (xb, yb)

    def train_batches(self, epoch: int, plan: BatchPlan) -> Iterator[Batch]:
        """Batches (B, ...), (B,) in shared order, (N, B, ...), (N, B) per member: the indexed path's batches."""
        order = epoch_order(self.n, plan.seed, epoch, plan.order, plan.bootstrap, plan.members)
        batches = list(order_batches(order, plan.batch_size))
        if plan.max_steps is not None:
            batches = batches[: plan.max_steps]
        loader = self._loader_for_training(max((b.numel() for b in batches), default=1))
        if self.workers > 0:
            count = self._slots[0].shape[0]
            self._sampler.batches = [SlotJob(j % count, b.reshape(-1).tolist()) for j, b in enumerate(batches)]
        else:
            self._sampler.batches = [b.reshape(-1).tolist() for b in batches]
        for idx, got in zip(batches, loader):
            xb, yb = self._unpack(got)
            yield xb.view(*idx.shape, *xb.shape[1:]), yb.view(*idx.shape, *yb.shape[1:])

    def eval_batches(self, batch_size: int) -> Iterator[Batch]:
        loader = DataLoader(self.dataset, batch_size=batch_size, num_workers=self.workers, pin_memory=self.pin)
        for batch in loader:
            yield check_pair(batch, "batches")


class LoaderSource:
    """A DataLoader or any re-iterable of (x, y) batches, in its own order."""

    exact_order = False

    def __init__(self, batches: Iterable[Any]) -> None:
        if isinstance(batches, Iterator):  # a generator or iterator: one pass only (not iter()'d: no side effects)
            raise TypeError(
                f"a {type(batches).__name__} can be iterated only once; pass a DataLoader, a list of (x, y) batches "
                "or another re-iterable"
            )
        self.batches = batches
        # The first pass starts here, to look at its first batch; that pass is then the first epoch's (iterating
        # once more would advance a shuffling loader's random state or an iterable's own epoch counter).
        it = iter(batches)
        first = next(it, None)
        if first is None:
            raise ValueError("the data is empty")
        self.first = check_pair(first, "batches")
        self._pending: Iterator[Any] | None = itertools.chain([first], it)

    def _pass(self) -> Iterator[Any]:
        it, self._pending = self._pending, None
        return it if it is not None else iter(self.batches)

    def first_input(self) -> Tensor:
        return self.first[0][:1]

    def all_labels(self) -> Tensor | None:
        return None

    def train_batches(self, epoch: int, plan: BatchPlan) -> Iterator[Batch]:
        for step, batch in enumerate(self._pass()):
            if plan.max_steps is not None and step >= plan.max_steps:
                return
            yield check_pair(batch, "batches")

    def eval_batches(self, batch_size: int) -> Iterator[Batch]:
        for batch in self._pass():
            yield check_pair(batch, "batches")


DataSource = TensorSource | DatasetSource | LoaderSource


def as_source(
    data: Any, *, batch_size: int = 128, workers: int = 0, pin_memory: bool = False, role: str = "training"
) -> DataSource:
    """Adapt ``data`` (see the module docstring) to a source; anything else is a one-line ``TypeError``. ``role``
    names the data in errors (``training``, ``validation``, ...)."""
    if isinstance(data, TensorData):
        return TensorSource(data.x, data.y, role)
    if isinstance(data, DataLoader):
        return LoaderSource(data)
    if isinstance(data, TensorDataset) and len(data.tensors) == 2:  # tensors already: the indexed path, same order
        return TensorSource(*data.tensors, role)
    if isinstance(data, IterableDataset):
        return LoaderSource(DataLoader(data, batch_size=batch_size, num_workers=workers, pin_memory=pin_memory))
    if isinstance(data, Dataset):
        return DatasetSource(data, workers, pin_memory, role)
    if isinstance(data, tuple) and len(data) == 2 and isinstance(data[0], Tensor):
        return TensorSource(data[0], data[1], role)
    if isinstance(data, list) and len(data) == 2 and all(isinstance(t, Tensor) for t in data):
        if data[0].dim() >= 1 and data[1].dim() >= 1 and data[0].shape[0] == data[1].shape[0]:
            return TensorSource(data[0], data[1], role)
    if isinstance(data, Iterable) and not isinstance(data, (str, bytes, Tensor)):
        return LoaderSource(data)
    raise TypeError(f"data must be {ALLOWED}; got {_describe(data)}")
