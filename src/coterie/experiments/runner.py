"""Run one validated config into a run directory: config.yaml, metrics.jsonl, results.json, checkpoints, PNGs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from coterie.experiments import fingerprint, registry
from coterie.experiments.registry import ExperimentConfig
from coterie.utils.rundir import RunDir

log = logging.getLogger(__name__)


def _normalise(recorded: dict[str, Any]) -> dict[str, Any]:
    """A recorded config in its current validated form (fields added to the schema since take their defaults)."""
    from coterie.config import validate_config

    return validate_config(recorded).model_dump(mode="json")


def guard_run_dir(config: ExperimentConfig, out: str | Path, restart: bool = False) -> bool:
    """Check run directory ``out`` against ``config`` before any work; whether it already holds this run.

    With ``restart`` the old contents are first moved to ``out/.previous-<UTC time>/`` (nothing is deleted).

    Raises:
        RunDirMismatch: ``out`` holds a run of a different configuration (nothing was changed).
        RunDirError: its ``fingerprint.json`` or ``config.yaml`` is unreadable.
    """
    if restart:
        moved = fingerprint.move_aside(out)
        if moved is not None:
            log.info("moved the previous contents of %s to %s", out, moved)
    return fingerprint.check_run_dir(out, config.model_dump(mode="json"), _normalise)


def run_config(config: ExperimentConfig, out: str | Path, restart: bool = False) -> dict[str, Any]:
    """Execute ``config`` into directory ``out`` and return its results (also written to ``results.json``).

    ``out`` is guarded by ``fingerprint.json`` (:mod:`coterie.experiments.fingerprint`): a directory holding a run of
    a different configuration raises :class:`~coterie.experiments.fingerprint.RunDirMismatch` before anything is
    written. For the same configuration, a finished run (``results.json``) is returned as is and an unfinished one
    resumes (experiments that train through the Trainer pick up after their last completed epoch). ``restart``
    moves the old contents aside first (see :func:`guard_run_dir`).
    """
    rd = RunDir(Path(out))
    exp = registry.get(config.experiment)
    config_dump = config.model_dump(mode="json")
    same = guard_run_dir(config, rd.path, restart)
    existing = rd.read_results() if same else None
    if existing is not None:
        log.info("%s already finished; not running again", rd.path)
        return existing
    if same:
        log.info("%s holds an unfinished run of this configuration; resuming", rd.path)
    fingerprint.write_fingerprint(rd.path, config_dump)
    rd.write_config(config_dump)
    t0 = time.perf_counter()
    results = exp.run(config, rd)
    results = {"wall_seconds": time.perf_counter() - t0, **results}
    rd.write_results(results)
    return results
