"""Run one validated config into a run directory: config.yaml, metrics.jsonl, results.json, checkpoints, PNGs."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from coterie.experiments import registry
from coterie.experiments.registry import ExperimentConfig
from coterie.experiments.rundir import RunDir

log = logging.getLogger(__name__)


def run_config(config: ExperimentConfig, out: str | Path) -> dict[str, Any]:
    """Execute ``config`` into directory ``out`` and return its results (also written to ``results.json``).

    A directory that already holds ``results.json`` for the same config is returned as is; one with checkpoints
    resumes (experiments that train through the Trainer pick up after their last completed epoch).
    """
    rd = RunDir(Path(out))
    exp = registry.get(config.experiment)
    existing = rd.read_results()
    config_dump = config.model_dump(mode="json")
    if existing is not None and (rd.path / "config.yaml").exists():
        import yaml

        if yaml.safe_load((rd.path / "config.yaml").read_text()) == config_dump:
            log.info("%s already finished; not running again", rd.path)
            return existing
    rd.write_config(config_dump)
    t0 = time.perf_counter()
    results = exp.run(config, rd)
    results = {"wall_seconds": time.perf_counter() - t0, **results}
    rd.write_results(results)
    return results
