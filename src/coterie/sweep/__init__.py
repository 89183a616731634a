"""Sweeps: a grid over any config field, run in a local process pool or on Ray, recorded in ``results.sqlite``.

Use :func:`load_sweep` / :func:`parse_sweep` to read a sweep file and :func:`run_sweep` to run it (resumable,
concurrency-safe; see :mod:`coterie.sweep.runner` and :mod:`coterie.sweep.store`).
"""

from coterie.sweep.frame import load_sweep_frame
from coterie.sweep.grid import RunSpec, SweepError, SweepSpec, load_sweep, parse_sweep
from coterie.sweep.runner import SweepOutcome, run_sweep
from coterie.sweep.store import DB_NAME, ResultStore, StoreError, flatten_metrics

__all__ = [
    "DB_NAME",
    "ResultStore",
    "RunSpec",
    "StoreError",
    "SweepError",
    "SweepOutcome",
    "SweepSpec",
    "flatten_metrics",
    "load_sweep",
    "load_sweep_frame",
    "parse_sweep",
    "run_sweep",
]
