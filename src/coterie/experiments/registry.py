"""The experiment registry, for experiment modules: ``@register(name, ConfigClass)`` on ``run(cfg, rundir)``, and
``get(name)`` / ``names()``.

These are the functions of :mod:`coterie.experiment_registry`, which sits at the config layer (config validation
looks experiments up there, and the config layer may not import the experiments above it).
"""

from coterie.experiment_registry import (
    BUILTIN_MODULES,
    EXPERIMENTS,
    Experiment,
    ExperimentConfig,
    HeadlineFn,
    LoadFn,
    LogConfig,
    RunFn,
    get,
    names,
    register,
)

__all__ = [
    "BUILTIN_MODULES",
    "EXPERIMENTS",
    "Experiment",
    "ExperimentConfig",
    "HeadlineFn",
    "LoadFn",
    "LogConfig",
    "RunFn",
    "get",
    "names",
    "register",
]
