"""Where grid points run: a local process pool (default) or a Ray cluster.

Both backends take a list of jobs ``(key, kwargs for execute_run)`` and yield ``(key, outcome)`` as runs finish.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any, Literal

from coterie.sweep.execute import execute_run
from coterie.utils.ray_cluster import connect_ray

log = logging.getLogger(__name__)

Job = tuple[str, dict[str, Any]]


StartMethod = Literal["auto", "fork", "forkserver", "spawn"]


def pick_start_method(requested: StartMethod = "auto") -> str:
    """The multiprocessing start method for the pool's workers.

    ``auto`` forks when that is safe here — the platform has ``fork``, this process runs no other Python thread (a
    forked child could inherit a lock held by it) and has not initialised CUDA (a forked child cannot use it) — and
    spawns otherwise. Forked workers start in milliseconds with torch and coterie already imported; spawned ones
    import them again (seconds each: on 2 cores that is a sizeable part of a sweep of short runs).
    """
    if requested != "auto":
        return requested
    if "fork" not in mp.get_all_start_methods() or threading.active_count() > 1:
        return "spawn"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_initialized():
        return "spawn"
    return "fork"


def run_local(
    jobs: Sequence[Job], workers: int, start_method: StartMethod = "auto"
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run ``jobs`` in ``workers`` processes (in this process when ``workers == 1`` or there is one job).

    Each worker limits torch to ``threads`` intra-op threads (set by the caller in each job), so K workers on K cores
    do not oversubscribe. The pool is started here, before the caller iterates (and so before a progress bar starts
    its thread); no SQLite connection is open while workers fork (the store opens one per operation). Interrupting
    (Ctrl-C) cancels the runs that have not started; the running ones stop with the pool, keeping their checkpoints.
    """
    if workers <= 1 or len(jobs) <= 1:
        return _run_inline(jobs)
    ctx = mp.get_context(pick_start_method(start_method))
    log.debug("sweep pool: %d workers, start method %s", workers, ctx.get_start_method())
    pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx)
    try:
        futures = {pool.submit(execute_run, **kw): key for key, kw in jobs}
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    return _collect(pool, futures)


def _run_inline(jobs: Sequence[Job]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run the jobs one after another in this process; torch's thread count is restored afterwards."""
    import torch

    threads = torch.get_num_threads()
    try:
        for key, kw in jobs:
            yield key, execute_run(**kw)
    finally:
        torch.set_num_threads(threads)


def _collect(
    pool: ProcessPoolExecutor, futures: dict[Future[dict[str, Any]], str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                try:
                    outcome = fut.result()
                except Exception as e:
                    outcome = {"ok": False, "error": f"worker process failed: {e!r}"}
                yield futures[fut], outcome
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_ray(jobs: Sequence[Job], workers: int, address: str | None = None) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run ``jobs`` as Ray tasks on the cluster at ``address`` (or a local instance with ``workers`` CPUs).

    Run directories must be on storage the Ray workers share with this driver (a local instance always does); the
    workers record finished runs in ``results.sqlite`` themselves when they can reach it, and the driver records
    every outcome it receives (idempotently).

    Raises:
        RuntimeError: ray is not installed (``pip install 'coterie[ray]'``).
    """
    ray, started_here = connect_ray(workers, address)
    try:
        remote = ray.remote(num_cpus=1)(execute_run)
        refs = {remote.remote(**kw): key for key, kw in jobs}
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                try:
                    outcome = ray.get(ref)
                except Exception as e:
                    outcome = {"ok": False, "error": f"ray task failed: {e!r}"}
                yield refs[ref], outcome
    finally:
        if started_here:
            ray.shutdown()
