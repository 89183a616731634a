"""Time and peak memory of one block of work (e.g. one merge), as a context manager.

What is measured (all in bytes, process-wide unless said otherwise):

- ``seconds``: wall-clock time of the block (``time.perf_counter``).
- ``python_peak_bytes``: peak of Python-heap allocations made inside the block (``tracemalloc``; torch tensors are
  *not* Python allocations and are not counted here).
- ``rss_peak_delta_bytes``: the largest resident set size seen during the block minus the RSS at its start, sampled
  every ``interval`` seconds from ``/proc/self/statm`` by a background thread (Linux only, else ``None``). This counts
  everything the process allocates, torch's CPU tensors included; a peak shorter than the interval can be missed.
- ``maxrss_delta_bytes``: growth of the process's lifetime RSS high-water mark (``resource.getrusage``); 0 when the
  block stays below an earlier peak of the process.
- ``cuda_peak_bytes``: ``torch.cuda.max_memory_allocated`` over the block when CUDA is initialised, else ``None``.

``tracemalloc`` slows Python-level code a little, so ``seconds`` is an upper bound of the unmeasured time.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

_STATM = "/proc/self/statm"


def _rss_bytes() -> int | None:
    """Current resident set size of this process, or ``None`` where ``/proc`` is unavailable."""
    try:
        with open(_STATM) as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def _maxrss_bytes() -> int | None:
    try:
        import resource
    except ImportError:  # Windows
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak) if sys.platform == "darwin" else int(peak) * 1024  # macOS: bytes, Linux: KiB


class _RssSampler(threading.Thread):
    def __init__(self, interval: float) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = _rss_bytes()
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            rss = _rss_bytes()
            if rss is not None and self.peak is not None:
                self.peak = max(self.peak, rss)

    def stop(self) -> int | None:
        self._stop_event.set()
        self.join()
        rss = _rss_bytes()
        if rss is not None and self.peak is not None:
            self.peak = max(self.peak, rss)
        return self.peak


@contextmanager
def measure(interval: float = 0.005) -> Iterator[dict[str, Any]]:
    """Yield a dict that is filled, when the block ends, with the keys described in the module docstring."""
    out: dict[str, Any] = {}
    started_tracing = not tracemalloc.is_tracing()
    if started_tracing:
        tracemalloc.start()
    tracemalloc.reset_peak()
    py0 = tracemalloc.get_traced_memory()[0]
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    rss0, maxrss0 = _rss_bytes(), _maxrss_bytes()
    sampler = _RssSampler(interval)
    sampler.start()
    t0 = time.perf_counter()
    try:
        yield out
    finally:
        out["seconds"] = time.perf_counter() - t0
        peak = sampler.stop()
        out["python_peak_bytes"] = max(0, tracemalloc.get_traced_memory()[1] - py0)
        if started_tracing:
            tracemalloc.stop()
        out["rss_peak_delta_bytes"] = peak - rss0 if peak is not None and rss0 is not None else None
        maxrss1 = _maxrss_bytes()
        out["maxrss_delta_bytes"] = maxrss1 - maxrss0 if maxrss1 is not None and maxrss0 is not None else None
        out["cuda_peak_bytes"] = int(torch.cuda.max_memory_allocated()) if cuda else None
