"""Run a sweep: expand the grid, skip what ``results.sqlite`` records as finished, run the rest, record each run.

Layout of a sweep directory ``DIR``::

    DIR/sweep.yaml          the sweep file as given (base + grid)
    DIR/results.sqlite      finished runs (see :mod:`coterie.sweep.store`)
    DIR/runs/<name>/        one run directory per grid point (config.yaml, metrics.jsonl, results.json, ...)

Re-running the same sweep starts no finished run again and resumes unfinished ones from their checkpoints. A run
whose ``results.json`` exists but which the database misses (the sweep was killed between the two writes) is
recorded without training. Two sweeps on one directory share the work: each claims a run before starting it.

A grid point's run directory is never reused for another configuration: before anything is written or started,
every existing ``runs/<name>/`` is checked against its grid point's config (``fingerprint.json``, see
:mod:`coterie.experiments.fingerprint`), and any difference stops the sweep with
:class:`~coterie.experiments.fingerprint.RunDirError` naming each such run and field (``coterie sweep`` exits 2;
move those directories away to rerun them). A directory that changes under a running sweep fails that run (recorded
``failed``, never ``finished``).
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from coterie.experiments.fingerprint import RunDirError, RunDirMismatch
from coterie.sweep.backends import StartMethod, run_local, run_ray
from coterie.sweep.grid import RunSpec, SweepSpec, check_no_typed_twins
from coterie.sweep.store import DB_NAME, ResultStore, owner_tag
from coterie.utils.io import atomic_write_text
from coterie.utils.progress import progress_bar

log = logging.getLogger(__name__)

Backend = Literal["local", "ray"]


@dataclass
class SweepOutcome:
    """What one invocation did: runs in the grid, already finished, run now, failed, held by another sweep."""

    total: int
    skipped: int
    started: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    busy: list[str] = field(default_factory=list)

    @property
    def finished_now(self) -> int:
        return len(self.started) - len(self.failed)


def check_run_dirs(out: Path, runs: list[RunSpec]) -> None:
    """Raise :class:`RunDirError` naming every grid point whose ``out/runs/<name>/`` holds another configuration."""
    from coterie.experiments.runner import guard_run_dir

    problems = []
    for r in runs:
        try:
            guard_run_dir(r.config, out / "runs" / r.name)
        except RunDirMismatch as e:
            problems.append(f"{e.path} holds another configuration ({e.summary})")
        except RunDirError as e:
            problems.append(str(e).split("; nothing was changed")[0])
    if problems:
        n = len(problems)
        raise RunDirError(
            f"{n} run director{'y' if n == 1 else 'ies'} of this sweep cannot be reused: "
            + " | ".join(problems)
            + f". Nothing was started or changed; move {'it' if n == 1 else 'them'} away to rerun, or use another --out"
        )


def _with_overrides(spec: SweepSpec, overrides: dict[str, Any] | None) -> SweepSpec:
    """A copy of ``spec`` whose base has the dotted ``overrides`` applied (``spec`` itself unchanged)."""
    if not overrides:
        return spec
    from coterie.config import set_dotted

    spec = SweepSpec(name=spec.name, base=copy.deepcopy(spec.base), grid=dict(spec.grid))
    for k, v in overrides.items():
        set_dotted(spec.base, k, v)
    return spec


def _write_sweep_file(path: Path, spec: SweepSpec) -> None:
    """Record the sweep as given (base + grid) the first time the directory is used."""
    if not path.exists():
        body = {"sweep": {"name": spec.name, "grid": spec.grid}, **spec.base}
        atomic_write_text(path, yaml.safe_dump(body, sort_keys=False))


def run_sweep(
    spec: SweepSpec,
    out: str | Path,
    workers: int = 1,
    backend: Backend = "local",
    address: str | None = None,
    threads_per_worker: int | None = 1,
    overrides: dict[str, Any] | None = None,
    start_method: StartMethod = "auto",
) -> SweepOutcome:
    """Run every grid point of ``spec`` not yet finished in ``out``.

    Args:
        spec: the sweep (validated here, before anything starts).
        out: the sweep directory.
        workers: concurrent runs (process pool size, or Ray CPUs for a local Ray instance).
        backend: ``local`` (process pool) or ``ray``.
        address: Ray cluster address (``auto`` or ``host:port``); ``None`` starts a local instance.
        threads_per_worker: torch intra-op threads per run (``None`` leaves torch's default).
        overrides: dotted overrides applied to the base before expansion (``device``, ``--set``); ``spec`` itself
            is not modified. ``device`` leaves the sweep's and the runs' identities unchanged; any other field makes
            a different sweep.
        start_method: how the local pool starts its workers (see :func:`coterie.sweep.backends.pick_start_method`;
            ``auto`` forks when that is safe, else spawns).

    Raises:
        SweepError: an invalid grid (before any run starts).
        StoreError: ``out/results.sqlite`` is corrupt or belongs to another sweep (never overwritten).
        RunDirError: a grid point's run directory holds a run of another configuration (nothing is written).
    """
    out = Path(out)
    spec = _with_overrides(spec, overrides)
    runs = spec.expand()  # raises SweepError before anything is written
    check_run_dirs(out, runs)  # raises RunDirError before anything is written
    store = ResultStore.open(out / DB_NAME, spec.sweep_id, spec.name, spec.base)
    check_no_typed_twins(runs, store.recorded_overrides())  # before anything else is written
    _write_sweep_file(out / "sweep.yaml", spec)
    status = store.status()
    owner = owner_tag()
    outcome = SweepOutcome(total=len(runs), skipped=0)
    jobs = []
    specs: dict[str, RunSpec] = {}
    for r in runs:
        if status.get(r.run_id, {}).get("status") == "finished":
            outcome.skipped += 1
            continue
        rel = f"runs/{r.name}"
        cfg = r.config_dict
        if not store.claim(r.run_id, r.name, r.overrides, cfg, rel, owner):
            if store.status().get(r.run_id, {}).get("status") == "finished":
                outcome.skipped += 1
            else:
                outcome.busy.append(r.name)
            continue
        specs[r.run_id] = r
        meta = {"run_id": r.run_id, "name": r.name, "overrides": r.overrides, "rel_dir": rel}
        kwargs = {
            "config": cfg,
            "run_dir": str(out / rel),
            "db_path": str(store.path),
            "meta": meta,
            "threads": threads_per_worker,
        }
        jobs.append((r.run_id, kwargs))
    log.info(
        "sweep %s: %d runs, %d finished already, %d to run, %d held by another sweep",
        spec.name,
        len(runs),
        outcome.skipped,
        len(jobs),
        len(outcome.busy),
    )
    if not jobs:
        return outcome
    done: set[str] = set()
    try:
        # the local pool starts here, before the progress bar's thread
        it = run_local(jobs, workers, start_method) if backend == "local" else run_ray(jobs, workers, address)
        with progress_bar() as bar:
            task = bar.add_task(f"sweep {spec.name}", total=len(jobs))
            for run_id, res in it:
                r = specs[run_id]
                done.add(run_id)
                outcome.started.append(r.name)
                if res.get("ok"):
                    # idempotent: the worker has normally recorded it already
                    store.record_finished(run_id, r.name, r.overrides, r.config_dict, f"runs/{r.name}", res["results"])
                else:
                    outcome.failed[r.name] = res.get("error", "unknown error")
                    store.record_failed(run_id, outcome.failed[r.name])
                    log.error("run %s failed:\n%s", r.name, outcome.failed[r.name])
                bar.update(task, advance=1, description=f"sweep {spec.name}: {r.name}")
    finally:
        for run_id in specs:
            if run_id not in done:
                store.release(run_id, owner)
    return outcome
