"""Experiment registry. An experiment is a typed config class plus a function ``run(config, rundir) -> results``.

``coterie run CONFIG`` reads the YAML, looks up its ``experiment`` field here, validates the rest against the
registered config class (pydantic; unknown or invalid fields fail before any work, naming the field), writes
``config.yaml`` and calls the function. The function writes metrics, checkpoints and plots into the run directory
and returns the final figures, which land in ``results.json``.

This module sits at the config layer, below the experiments, because :func:`coterie.config.validate_config` looks
experiments up here; experiment modules register through :mod:`coterie.experiments.registry` (the same functions).
The entries live in :data:`EXPERIMENTS` (a :class:`~coterie.utils.registry.Registry`: a taken name is refused).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from coterie.utils.registry import Registry
from coterie.utils.rundir import RunDir

if TYPE_CHECKING:
    import torch


class LogConfig(BaseModel):
    """``log:`` what a run writes besides metrics.jsonl (never changes its numbers).

    ``tensorboard``: also TensorBoard event files in ``RUN_DIR/tensorboard`` (needs the ``tensorboard`` package).
    """

    model_config = ConfigDict(extra="forbid")

    tensorboard: bool = False


class ExperimentConfig(BaseModel):
    """Fields every experiment has. Subclasses add their own; unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    experiment: str
    name: str = ""
    seed: int = 0
    device: str = "auto"
    log: LogConfig = Field(default_factory=LogConfig)


C = TypeVar("C", bound=ExperimentConfig)
RunFn = Callable[[Any, RunDir], dict[str, Any]]
# ``load(cfg, rundir, which, device)`` rebuilds what a finished run produced (documented per experiment).
LoadFn = Callable[[ExperimentConfig, RunDir, str, "torch.device | None"], Any]
# ``headline(results)`` → the few figures ``coterie run`` prints when the run ends ({label: value}).
HeadlineFn = Callable[[dict[str, Any]], dict[str, float]]


@dataclass(frozen=True)
class Experiment:
    name: str
    config_cls: type[ExperimentConfig]
    run: RunFn
    description: str
    load: LoadFn | None = None
    headline: HeadlineFn | None = None


EXPERIMENTS: Registry[Experiment] = Registry("experiment")


def register(
    name: str,
    config_cls: type[ExperimentConfig],
    description: str = "",
    load: LoadFn | None = None,
    headline: HeadlineFn | None = None,
) -> Callable[[RunFn], RunFn]:
    """Decorator: ``@register("train", TrainConfig)`` on ``def run(cfg: TrainConfig, rundir: RunDir) -> dict``.

    ``load``, when given, is what ``coterie.load`` calls to rebuild the run's artefact from its directory;
    ``headline`` picks the figures ``coterie run`` prints from a nested ``results.json`` (without it, the results'
    ``val``/``test`` sections and top-level numbers). A taken name raises ``ValueError``.
    """

    def deco(fn: RunFn) -> RunFn:
        doc = description or (fn.__doc__ or "").strip().split("\n")[0]
        EXPERIMENTS.add(name, Experiment(name, config_cls, fn, doc, load, headline))
        return fn

    return deco


def get(name: str) -> Experiment:
    """The experiment registered under ``name`` (``KeyError`` listing the registered ones otherwise)."""
    _load_builtin()
    return EXPERIMENTS.get(name)


def names() -> list[str]:
    """Names of every experiment, built-in ones included, sorted."""
    _load_builtin()
    return EXPERIMENTS.names()


def _load_builtin() -> None:
    """Import the modules that register the built-in experiments (lazily, to keep ``import coterie`` light).

    The one place a layer loads modules of a higher one, by name, as a plugin registry does: nothing here depends
    on what they contain, only on their registering themselves."""
    import importlib

    for mod in BUILTIN_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as e:  # a module not written yet in this checkout
            if e.name != mod:
                raise


# Modules that define experiments; each calls ``register`` at import time.
BUILTIN_MODULES: list[str] = [
    "coterie.experiments.train",
    "coterie.experiments.expansion",
    "coterie.experiments.sweep_colearn",
    "coterie.experiments.robustness",
    "coterie.experiments.merge",
    "coterie.experiments.ldnn",
    "coterie.experiments.codeepnet",
]
