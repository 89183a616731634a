"""A one-off timing probe that settles the executor when no rule decides (:func:`executors.in_doubt`).

The probe times a forward and backward pass of every candidate executor on deep copies of the members (so running
statistics, parameters and gradients of the real members are untouched), interleaved over a few rounds, and keeps
the fastest. Results are cached per (architecture, member count, device, input shape), so each case is probed once
per process.
"""

from __future__ import annotations

import copy
import logging
import statistics
import time
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from coterie.ensemble import executors

log = logging.getLogger(__name__)

_CACHE: dict[tuple, str] = {}


def cache_key(members: Sequence[nn.Module], x: Tensor) -> tuple:
    """(class, parameter signature, N, device, input shape without the batch, dtype)."""
    first = members[0]
    sig = tuple((k, tuple(v.shape)) for k, v in first.state_dict().items())
    return (type(first).__qualname__, sig, len(members), str(x.device), tuple(x.shape[1:]), str(x.dtype))


def _time_once(fn: executors.ForwardFn, members: Sequence[nn.Module], x: Tensor) -> float:
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
    t0 = time.perf_counter()
    out = fn(members, x)
    out.float().square().mean().backward()
    if x.device.type == "cuda":
        torch.cuda.synchronize(x.device)
    return time.perf_counter() - t0


def probe(
    members: Sequence[nn.Module], x: Tensor, candidates: Sequence[str] = ("loop", "vmap", "fused"), rounds: int = 3
) -> str:
    """The fastest supported executor among ``candidates`` for these members on input ``x`` (B, ...); cached.

    Args:
        members: identical member networks.
        x: a representative input batch (its batch size should be the training batch size).
        candidates: executor names to try; unsupported ones are skipped.
        rounds: timed rounds per candidate after one warm-up each (median kept).
    """
    key = (*cache_key(members, x), tuple(candidates))
    if key in _CACHE:
        return _CACHE[key]
    names = [c for c in candidates if executors.supported(members, c)]
    if len(names) <= 1:
        _CACHE[key] = names[0] if names else "loop"
        return _CACHE[key]
    copies = [copy.deepcopy(m) for m in members]
    xs = x.detach()
    times: dict[str, list[float]] = {n: [] for n in names}
    with torch.enable_grad():
        for n in names:  # warm-up
            _time_once(executors.FORWARDS[n], copies, xs)
        for _ in range(rounds):
            for n in names:
                times[n].append(_time_once(executors.FORWARDS[n], copies, xs))
    med = {n: statistics.median(v) for n, v in times.items()}
    best = min(med, key=med.__getitem__)
    shown = {k: f"{v * 1e3:.1f} ms" for k, v in med.items()}
    log.info("executor probe %s: %s → %s", type(members[0]).__name__, shown, best)
    _CACHE[key] = best
    return best


def clear_cache() -> None:
    """Forget every probe result (tests)."""
    _CACHE.clear()
