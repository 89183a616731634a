"""``coterie eval RUN_DIR``: the figures of a trained run's ensemble on a split rebuilt from its recorded config.

The split is rebuilt exactly as the run built it (:func:`coterie.experiments.build.build_splits` with the recorded
``data`` section and seed), the ensemble is :func:`coterie.load`-ed, and the figures are those of the ``test``
section of ``results.json`` (:func:`coterie.metrics.ensemble_summary`): on the final weights and the test split
they equal results.json's. They are written to ``RUN_DIR/eval.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from coterie.data import Splits, TensorData
from coterie.ensemble import Ensemble
from coterie.experiments.loading import RunArgumentError, RunLoadError, load_run, read_run_config
from coterie.metrics import ensemble_summary
from coterie.training.trainer import predict_logits
from coterie.utils.io import atomic_write_text, to_jsonable
from coterie.utils.rundir import RunDir

SPLITS: tuple[str, ...] = ("test", "val")


def rebuild_splits(cfg: Any, run_dir: str | Path) -> Splits:
    """The run's train / val / test splits, rebuilt from the recorded ``data`` section and seed."""
    from coterie.experiments.build import build_splits

    if not hasattr(cfg, "data"):
        raise RunLoadError(f"{run_dir}: experiment {cfg.experiment!r} records no data section to rebuild splits from")
    try:
        return build_splits(cfg.data, cfg.seed)
    except (OSError, ValueError) as e:
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise RunLoadError(f"{run_dir}: cannot rebuild the data splits from config.yaml ({reason})") from None


def rebuild_split(cfg: Any, split: str, run_dir: str | Path) -> TensorData:
    """Split ``split`` (test or val) of the run's data, rebuilt from the recorded ``data`` section and seed."""
    if split not in SPLITS:
        raise RunArgumentError(f"split must be one of {list(SPLITS)}, got {split!r}")
    return getattr(rebuild_splits(cfg, run_dir), split)


def load_run_ensemble(run_dir: str | Path, which: str, device: str | torch.device | None) -> Ensemble:
    """:func:`coterie.load` for commands that need an :class:`Ensemble` (eval, attack, export)."""
    ens = load_run(run_dir, which, device)
    if not isinstance(ens, Ensemble):
        raise RunLoadError(
            f"{run_dir}: this run loads as {type(ens).__name__}, not an Ensemble; "
            "eval/attack/export need an ensemble run"
        )
    return ens


def evaluate_run(
    run_dir: str | Path, split: str = "test", which: str = "best", device: str | torch.device | None = None
) -> dict[str, Any]:
    """Evaluate the run's ``which`` weights on ``split``; writes and returns the eval.json record:
    ``{"split", "which", "n_samples", "metrics": ensemble_summary(...)}``. Raises RunLoadError / RunArgumentError."""
    if split not in SPLITS:
        raise RunArgumentError(f"split must be one of {list(SPLITS)}, got {split!r}")
    cfg = read_run_config(run_dir)
    ens = load_run_ensemble(run_dir, which, device)
    data = rebuild_split(cfg, split, run_dir)
    logits = predict_logits(ens, data.x)  # (N, M, C)
    record = {
        "split": split,
        "which": which,
        "n_samples": int(data.y.shape[0]),
        "metrics": ensemble_summary(logits, data.y),
    }
    rd = RunDir(Path(run_dir))
    atomic_write_text(rd.path / "eval.json", json.dumps(to_jsonable(record), indent=2))
    return record
