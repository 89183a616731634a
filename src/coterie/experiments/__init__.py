"""Experiments (one per seed, plus ``train``), run directories and the registry behind ``coterie run``."""

from coterie.experiments.registry import ExperimentConfig, get, names, register
from coterie.utils.rundir import RunDir

__all__ = ["ExperimentConfig", "RunDir", "get", "names", "register"]
