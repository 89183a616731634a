"""Sweep throughput: 8 equal co-learning runs with 1 worker and with 2 workers, side by side in one invocation.

Issue 3's target: with 2 workers the sweep finishes in at most 0.65× the time 1 worker takes.

Every case is a fresh sweep directory in a temporary folder, run by a fresh Python process (as ``coterie sweep`` would
be), and timed inside that process around :func:`coterie.sweep.run_sweep` only: the interpreter and ``import torch``
cost every invocation the same and are left out, while everything the sweep itself pays is in — spawning the pool's
worker processes, their imports, the first run's lazy imports, training, recording in ``results.sqlite``. Each run
uses 1 torch thread (the CLI's ``--threads 1`` default), so 2 workers use the 2 cores without oversubscribing them.
For reference: 2 workers started by ``spawn`` (each re-imports torch and coterie; the default forks when that is
safe, see :func:`coterie.sweep.backends.pick_start_method`).

The runs: colearn on 2000 MNIST-1D samples, 4 MLP members (64-64), β̄ = 0.5, 30 epochs; 8 seeds (about 4 s each
here).

    python benchmarks/sweep_workers.py               # one round
    python benchmarks/sweep_workers.py --rounds 3    # cases interleaved round by round, median reported

Timings vary with machine load: compare the ratios within one run, never against numbers from another run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BASE: dict[str, Any] = {
    "experiment": "colearn",
    "name": "bench-sweep-workers",
    "data": {"name": "mnist1d", "num_samples": 2000, "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"name": "mlp", "kwargs": {"hidden": [64, 64]}},
    "ensemble": {"size": 4},
    "objective": {"name": "colearning", "params": {"beta": 0.5, "normalize": True}},
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "schedule": {"name": "cosine"},
    "epochs": 30,
    "batch_size": 64,
    "analysis": {"trajectory_every": 1, "trajectory_samples": 64, "activity_samples": 64},
}

# case: (workers, torch threads per run, pool start method)
CASES: dict[str, tuple[int, int, str]] = {
    "1 worker": (1, 1, "auto"),
    "2 workers": (2, 1, "auto"),
    "2 workers, spawned": (2, 1, "spawn"),
}


def child(workers: int, threads: int, start_method: str, runs: int, out: str) -> None:
    """Run the sweep in this (fresh) process and print its timing as JSON."""
    from coterie.sweep import ResultStore, parse_sweep, run_sweep

    spec = parse_sweep({**BASE, "sweep": {"name": BASE["name"], "grid": {"seed": list(range(runs))}}})
    t0 = time.perf_counter()
    outcome = run_sweep(spec, out, workers=workers, threads_per_worker=threads, start_method=start_method)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    walls = [r["wall_seconds"] for r in ResultStore(Path(out) / "results.sqlite").finished()]
    print(json.dumps({"seconds": seconds, "finished": outcome.finished_now, "run_seconds": walls}))


def measure(workers: int, threads: int, start_method: str, runs: int, root: Path, tag: str) -> dict[str, Any]:
    out = root / tag
    cmd = [sys.executable, __file__, "--child", str(workers), str(threads), start_method, "--runs", str(runs)]
    cmd += ["--out", str(out)]
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if res.returncode != 0:
        raise RuntimeError(f"{tag} failed:\n{res.stderr[-3000:]}")
    got = json.loads(res.stdout.strip().splitlines()[-1])
    if got["finished"] != runs:
        raise RuntimeError(f"{tag}: {got['finished']} of {runs} runs finished\n{res.stderr[-3000:]}")
    return got


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=1, help="interleaved rounds (median reported)")
    ap.add_argument("--runs", type=int, default=8, help="equal runs in the sweep")
    ap.add_argument("--cache", default=None, help="MNIST-1D cache folder (default: a temporary one, filled first)")
    ap.add_argument("--child", nargs=3, metavar=("WORKERS", "THREADS", "START"), help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(int(args.child[0]), int(args.child[1]), args.child[2], args.runs, args.out)
        return

    with tempfile.TemporaryDirectory(prefix="coterie-bench-sweep-") as tmp:
        root = Path(tmp)
        os.environ["COTERIE_CACHE"] = args.cache or str(root / "cache")
        from coterie.data.mnist1d import load_mnist1d

        load_mnist1d(num_samples=BASE["data"]["num_samples"])  # generate the data once, outside the timings
        times: dict[str, list[float]] = {k: [] for k in CASES}
        per_run: dict[str, list[float]] = {k: [] for k in CASES}
        for r in range(args.rounds):
            for case, (workers, threads, start) in CASES.items():
                got = measure(workers, threads, start, args.runs, root, f"round{r}-w{workers}-t{threads}-{start}")
                times[case].append(got["seconds"])
                per_run[case].extend(got["run_seconds"])

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# sweep of {args.runs} equal colearn runs, {args.rounds} round(s); {os.cpu_count()} cores, "
        f"load average {load:.1f} at the end, {platform.processor() or platform.machine()}"
    )
    base = statistics.median(times["1 worker"])
    print(f"{'case':<28}{'sweep s':>9}{'median run s':>14}{'ratio':>8}  target")
    for case in CASES:
        t = statistics.median(times[case])
        target = "≤ 0.65× (issue 3)" if case == "2 workers" else ""
        print(f"{case:<28}{t:>9.1f}{statistics.median(per_run[case]):>14.2f}{t / base:>7.2f}×  {target}")
    if args.rounds > 1:
        for case in CASES:
            print(f"#   {case}: " + ", ".join(f"{t:.1f}" for t in times[case]) + " s")


if __name__ == "__main__":
    main()
