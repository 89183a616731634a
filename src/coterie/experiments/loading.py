"""``coterie.load(run_dir, which="best" | "final", device=None)``: what a finished run produced, without the data.

A run directory describes itself: ``config.yaml`` holds the effective configuration with every model argument that
was inferred from the data (``model.kwargs``), and ``final.safetensors`` / ``best.safetensors`` hold the weights
(:mod:`coterie.training.best_weights`). :func:`load_run` validates the configuration, looks up its experiment and
calls the experiment's own loader when it registered one (``registry.Experiment.load``); otherwise the default
loader rebuilds the :class:`~coterie.Ensemble` from the ``model`` / ``ensemble`` sections and loads the weights.

Every failure is a :class:`RunLoadError` with a one-line message naming the directory or file and what to do.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import torch
import yaml

from coterie.ensemble import Ensemble
from coterie.experiments.registry import ExperimentConfig
from coterie.training.best_weights import BEST, FINAL, WeightsFileError, load_weights
from coterie.utils.device import resolve_device
from coterie.utils.rundir import RunDir

log = logging.getLogger(__name__)

WHICH: dict[str, str] = {"best": BEST, "final": FINAL}


class RunLoadError(ValueError):
    """A run directory cannot be loaded: not a run directory, invalid config.yaml, weights missing or damaged.
    The message is one line naming the path and what to do."""


class RunArgumentError(RunLoadError):
    """A bad argument to coterie.load or a command that reuses a run (which, split, attack settings, export format
    or its missing optional package), found before any work; one line."""


def check_which(which: str) -> str:
    """The weights file name for ``which`` (``best`` or ``final``)."""
    if which not in WHICH:
        raise RunArgumentError(f"which must be one of {sorted(WHICH)}, got {which!r}")
    return WHICH[which]


def read_run_config(run_dir: str | Path) -> ExperimentConfig:
    """The validated configuration recorded in ``run_dir/config.yaml``. Raises :class:`RunLoadError` when
    ``run_dir`` is not a run directory or its config.yaml is unreadable or invalid."""
    from coterie.config import ConfigError, validate_config

    path = Path(run_dir)
    if not path.is_dir():
        raise RunLoadError(f"{path} is not a run directory (no such directory)")
    cfg_path = path / "config.yaml"
    if not cfg_path.is_file():
        raise RunLoadError(f"{path} is not a run directory (no config.yaml; `coterie run CONFIG --out DIR` makes one)")
    try:
        raw = yaml.safe_load(cfg_path.read_text())
        return validate_config(raw or {})
    except (yaml.YAMLError, ConfigError) as e:
        detail = "; ".join(line.strip() for line in str(e).splitlines() if line.strip())
        raise RunLoadError(f"{cfg_path} is not a valid run configuration: {detail}") from None


def weights_path(rundir: RunDir, which: str) -> Path:
    """``RUN_DIR/{best,final}.safetensors`` of a finished run; raises :class:`RunLoadError` saying which weights files
    exist and what to do when the requested one does not, or when the run has not finished (no ``results.json``):
    an interrupted or running run's ``best.safetensors`` is only the best epoch so far, not what the run produces."""
    name = check_which(which)
    path = rundir.path / name
    finished, exists = (rundir.path / "results.json").exists(), path.is_file()
    if exists and finished:
        return path
    present = sorted(p.name for p in rundir.path.glob("*.safetensors"))
    if finished:
        hint = (
            "results.json says the run finished, so it was made before coterie wrote weights files or the file "
            "was removed: re-run it with --restart"
        )
    else:
        hint = "the run has not finished (still running, failed or killed): finish it with `coterie run` first"
    have = f"weights files present: {', '.join(present)}" if present else "no weights files present"
    what = f"{name} only from an unfinished run (no results.json)" if exists else f"no {name}"
    raise RunLoadError(f"{rundir.path} has {what} ({have}); {hint}")


def load_weights_checked(path: Path, module: torch.nn.Module, which: str, device: torch.device) -> dict[str, str]:
    """:func:`~coterie.training.best_weights.load_weights` with run-directory advice on failure."""
    other = "final" if which == "best" else "best"
    try:
        return load_weights(path, module, device)
    except WeightsFileError as e:
        raise RunLoadError(f"{e}; re-run the experiment with --restart, or load --which {other}") from None


def build_ensemble_from_config(model: Any, ensemble: Any) -> Ensemble:
    """An :class:`Ensemble` built from a ``model`` section (name, resolved kwargs) and an ``ensemble`` section (size,
    executor), initial weights only: load weights into it next."""
    return Ensemble.from_factory(model.name, ensemble.size, seed=0, executor=ensemble.executor, **model.kwargs)


def load_ensemble(cfg: Any, rundir: RunDir, which: str = "best", device: torch.device | None = None) -> Ensemble:
    """The default loader (``train``-style runs): rebuild the Ensemble from ``cfg.model`` / ``cfg.ensemble`` and load
    ``best.safetensors`` or ``final.safetensors``; returned in eval mode on ``device`` (default CPU)."""
    if not (hasattr(cfg, "model") and hasattr(cfg, "ensemble")):
        raise RunLoadError(
            f"{rundir.path}: experiment {cfg.experiment!r} registers no loader and has no model/ensemble sections; "
            "coterie.load cannot rebuild what it produced"
        )
    path = weights_path(rundir, which)
    device = torch.device("cpu") if device is None else torch.device(device)
    try:
        ens = build_ensemble_from_config(cfg.model, cfg.ensemble)
    except (TypeError, ValueError) as e:
        raise RunLoadError(f"{rundir.path / 'config.yaml'}: cannot rebuild the members ({e})") from None
    ens.to(device)
    load_weights_checked(path, ens, which, device)
    return ens.eval()


def load_run(run_dir: str | Path, which: str = "best", device: str | torch.device | None = None) -> Any:
    """What the run in ``run_dir`` produced: for ``train`` runs the trained :class:`Ensemble` in eval mode on
    ``device`` (default CPU; ``auto``, ``cpu``, ``cuda`` or a torch.device) with the ``best`` (validation
    ``best_metric``) or ``final`` weights; for experiments that register a loader, whatever that loader documents.
    Raises :class:`RunLoadError`."""
    from coterie.experiments import registry

    check_which(which)
    cfg = read_run_config(run_dir)
    rundir = RunDir(Path(run_dir))
    try:
        dev = None if device is None else resolve_device(device)
    except (ValueError, RuntimeError) as e:
        raise RunLoadError(f"bad device {device!r}: {e}") from None
    loader = getattr(registry.get(cfg.experiment), "load", None)
    if loader is not None:
        try:
            return loader(cfg, rundir, which, dev)
        except WeightsFileError as e:
            raise RunLoadError(f"{e}; re-run the experiment with --restart") from None
    return load_ensemble(cfg, rundir, which, dev)
