"""Side-by-side timing: candidates are interleaved round by round so machine noise hits all of them alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import torch


def _sync() -> None:
    """Wait for queued CUDA work, so a timed call includes its kernels (a no-op without CUDA in use)."""
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def compare(
    fns: dict[str, Callable[[], object]], rounds: int = 30, warmup: int = 5, block: int = 1
) -> dict[str, float]:
    """Median seconds per call of each function, measured interleaved over ``rounds`` rounds.

    ``block = 1``: every round calls each function once, so each call follows a different function and starts on
    the caches that function left (a cold-cache regime). ``block > 1``: every round calls each function ``block``
    times in a row and times all but the first call — the steady state of a training loop, where a step follows
    the same step — while machine noise still hits all functions alike, round by round.
    """
    for _ in range(warmup):
        for f in fns.values():
            f()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            if block > 1:
                f()  # untimed: this call runs on the previous function's caches
            for _ in range(max(block - 1, 1)):
                _sync()
                t0 = time.perf_counter()
                f()
                _sync()
                times[k].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def table(title: str, rows: list[tuple[str, float, float, str]]) -> str:
    """Rows of (case, baseline ms, coterie ms, target) → a text table with speed-up ratios."""
    width = max([44, *(len(r[0]) + 2 for r in rows)])
    lines = [title, f"{'case':<{width}}{'baseline ms':>12}{'coterie ms':>12}{'ratio':>8}  target"]
    for name, base, ours, target in rows:
        lines.append(f"{name:<{width}}{base * 1e3:>12.2f}{ours * 1e3:>12.2f}{base / ours:>7.2f}×  {target}")
    return "\n".join(lines)
