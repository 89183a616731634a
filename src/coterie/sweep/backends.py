"""Where grid points run: a local process pool (default) or a Ray cluster.

Both backends take a list of jobs ``(key, kwargs for execute_run)`` and yield ``(key, outcome)`` as runs finish.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from coterie.sweep.execute import execute_run

log = logging.getLogger(__name__)

Job = tuple[str, dict[str, Any]]


def run_local(jobs: Sequence[Job], workers: int) -> Iterator[tuple[str, dict[str, Any]]]:
    """Run ``jobs`` in ``workers`` spawned processes (in this process when ``workers == 1``).

    Each worker limits torch to ``threads`` intra-op threads (set by the caller), so K workers on K cores do not
    oversubscribe. Interrupting (Ctrl-C) cancels the runs that have not started; the running ones stop with the pool,
    keeping their checkpoints.
    """
    if workers <= 1:
        for key, kw in jobs:
            yield key, execute_run(**kw)
        return
    ctx = mp.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
    futures: dict[Future[dict[str, Any]], str] = {}
    try:
        for key, kw in jobs:
            futures[pool.submit(execute_run, **kw)] = key
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
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray backend needs ray: pip install 'coterie[ray]'") from None
    started_here = False
    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
        started_here = True
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
