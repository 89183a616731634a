"""Worker-loaded batches through reusable shared-memory slots: the Trainer's Dataset path with ``loader_workers > 0``.

A stock DataLoader worker collates every batch into a *fresh* shared-memory segment and hands each tensor to the
training process by passing a file descriptor over a socket (one handshake per tensor, served by a thread of the
worker; new pages faulted in both processes). On a 2-core machine that costs about 3 ms of CPU per batch of 128
CIFAR images, several times the fetch itself (128 ``__getitem__`` calls, about 0.2 ms) and about 15 % of a 5 × LeNet-5
step; the training process also waits for the handshake. Here the training process allocates ``R`` slots in shared
memory once, the batch sampler hands each worker a :class:`SlotJob` (batch j's indices and slot ``j mod R``), the
worker stacks the items straight into that slot and returns only ``(slot, length)``, and the training process copies
the batch out (into pinned memory on CUDA) before it is used. ``R = workers × prefetch_factor + 1``: a DataLoader keeps
at most ``workers × prefetch_factor`` batches in flight after handing one out, so no worker writes a slot that is
still being read. Items that do not fit the slots (another shape or dtype, labels that are not numbers or tensors)
come back collated by ``default_collate`` as usual, so every Dataset still works, just without the saving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, default_collate

#: batches each worker loads ahead (the DataLoader's ``prefetch_factor``); slots = workers × PREFETCH + 1.
PREFETCH = 2


class SlotJob(NamedTuple):
    """One batch for a worker: the dataset indices to fetch and the slot to write them into."""

    slot: int
    indices: list[int]


def collate_as_is(batch: Any) -> Any:
    """The loader's ``collate_fn``: the worker's result is already a batch (or a slot reference)."""
    return batch


def _as_tensors(values: Sequence[Any]) -> list[Tensor] | Tensor | None:
    """``values`` as ``default_collate`` would read them: tensors (numpy arrays converted) or a tensor of numbers."""
    first = values[0]
    if isinstance(first, Tensor) and all(isinstance(v, Tensor) for v in values):
        return list(values)
    if isinstance(first, np.ndarray) and all(isinstance(v, np.ndarray) and v.dtype.kind in "biuf" for v in values):
        return [torch.as_tensor(v) for v in values]
    if all(type(v) is int for v in values):
        return torch.tensor(values, dtype=torch.int64)
    if all(type(v) is float for v in values):
        return torch.tensor(values, dtype=torch.float64)
    return None


def _write(values: Sequence[Any], out: Tensor) -> bool:
    """Stack ``values`` into ``out`` (len(values), ...) when they fit its item shape and dtype; else ``False``."""
    got = _as_tensors(values)
    if got is None:
        return False
    if isinstance(got, Tensor):
        if got.dtype != out.dtype or got.shape != out.shape:
            return False
        out.copy_(got)
        return True
    if any(t.dtype != out.dtype or t.shape != out.shape[1:] for t in got):
        return False
    torch.stack(got, out=out)
    return True


class SlotDataset(Dataset):
    """The user's map-style Dataset seen by the workers: ``__getitems__(job)`` fetches ``job.indices`` (through the
    dataset's own ``__getitems__`` when it has one: batched fetching) and writes the batch into slot ``job.slot``.

    Slots: inputs (R, capacity, *x_item) and labels (R, capacity, *y_item) in shared memory; a worker returns
    ``("slot", slot, length)``, or ``("batch", (x, y))`` collated as usual when the items do not fit.
    """

    def __init__(self, dataset: Dataset, x_slots: Tensor, y_slots: Tensor) -> None:
        self.dataset, self.x_slots, self.y_slots = dataset, x_slots, y_slots

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, i: int) -> Any:
        return self.dataset[i]

    def __getitems__(self, job: SlotJob) -> tuple[Any, ...]:
        getitems = getattr(self.dataset, "__getitems__", None)
        items = getitems(job.indices) if getitems else [self.dataset[i] for i in job.indices]
        n = len(items)
        if n <= self.x_slots.shape[1] and all(isinstance(it, (tuple, list)) and len(it) == 2 for it in items):
            xs, ys = [it[0] for it in items], [it[1] for it in items]
            if _write(xs, self.x_slots[job.slot, :n]) and _write(ys, self.y_slots[job.slot, :n]):
                return ("slot", job.slot, n)
        return ("batch", default_collate(items))


def make_slots(first: Sequence[Any], count: int, capacity: int) -> tuple[Tensor, Tensor]:
    """Shared-memory slots for batches of up to ``capacity`` items shaped like ``first`` (an (x, y) item, as read by
    :func:`default_collate` in this process): inputs (count, capacity, *x.shape), labels (count, capacity, *y.shape)."""
    x, y = default_collate([first[0]])[0], default_collate([first[1]])[0]
    x_slots = torch.empty(count, capacity, *x.shape, dtype=x.dtype).share_memory_()
    y_slots = torch.empty(count, capacity, *y.shape, dtype=y.dtype).share_memory_()
    return x_slots, y_slots


def take(slot: int, n: int, x_slots: Tensor, y_slots: Tensor, pin: bool) -> tuple[Tensor, Tensor]:
    """Batch ``(x (n, ...), y (n, ...))`` from slot ``slot``, copied out (so no later batch can overwrite it) into
    pinned memory when ``pin`` (CUDA), ready for ``.to(device, non_blocking=True)``."""
    x, y = x_slots[slot, :n], y_slots[slot, :n]
    xb = torch.empty(x.shape, dtype=x.dtype, pin_memory=pin).copy_(x)
    yb = torch.empty(y.shape, dtype=y.dtype, pin_memory=pin).copy_(y)
    return xb, yb
