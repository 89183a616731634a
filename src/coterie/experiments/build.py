"""Build data splits, ensembles and objectives from validated config sections (shared by experiments)."""

from __future__ import annotations

import inspect
import math
from typing import Any

from coterie import models, objectives
from coterie.config import DataConfig, EnsembleConfig, ModelConfig, ObjectiveConfig, TrainConfig
from coterie.data import Splits, load_dataset, random_splits
from coterie.ensemble import Ensemble
from coterie.objectives.base import Objective
from coterie.training import Trainer


def build_splits(cfg: DataConfig, seed: int) -> Splits:
    """Load the dataset and split it with ``cfg.split_seed`` (or the run seed)."""
    kwargs: dict[str, Any] = {}
    if cfg.name == "mnist1d" and cfg.num_samples is not None:
        kwargs["num_samples"] = cfg.num_samples
    if cfg.name.startswith("cifar"):
        kwargs["data_dir"] = cfg.data_dir or "."
    data = load_dataset(cfg.name, **kwargs)
    split_seed = seed if cfg.split_seed is None else cfg.split_seed
    return random_splits(data, cfg.val_fraction, cfg.test_fraction, split_seed)


def infer_model_kwargs(
    name: str, input_shape: tuple[int, ...], num_classes: int, given: dict[str, Any]
) -> dict[str, Any]:
    """Fill ``num_classes`` and the input-size arguments a factory accepts from the data, unless given."""
    params = inspect.signature(models.registry._REGISTRY[name]).parameters
    inferred: dict[str, Any] = {
        "num_classes": num_classes,
        "in_features": math.prod(input_shape),
        "in_channels": input_shape[0] if len(input_shape) > 1 else 1,
        "input_size": input_shape[-1],
        "input_length": input_shape[-1],
    }
    out = {k: v for k, v in inferred.items() if k in params}
    out.update(given)
    return out


def build_ensemble(model: ModelConfig, ens: EnsembleConfig, splits: Splits, seed: int) -> Ensemble:
    """``ens.size`` independently initialised members (member i seeded by seed·1000 + i)."""
    kwargs = infer_model_kwargs(model.name, splits.input_shape, splits.num_classes, model.kwargs)
    return Ensemble.from_factory(model.name, ens.size, seed=seed * 1000, executor=ens.executor, **kwargs)


def build_objective(cfg: ObjectiveConfig) -> Objective:
    return objectives.create(cfg.name, **cfg.params)


def build_trainer(cfg: TrainConfig, ensemble: Ensemble, objective: Objective, run_dir: Any = None) -> Trainer:
    """A Trainer configured from a :class:`TrainConfig`."""
    return Trainer(
        ensemble,
        objective,
        optimizer=cfg.optimizer.name,
        lr=cfg.optimizer.lr,
        momentum=cfg.optimizer.momentum,
        weight_decay=cfg.optimizer.weight_decay,
        nesterov=cfg.optimizer.nesterov,
        schedule=cfg.schedule.name,
        step_size=cfg.schedule.step_size,
        gamma=cfg.schedule.gamma,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        device=cfg.device,
        frozen=tuple(cfg.frozen),
        run_dir=run_dir,
        checkpoint_every=cfg.checkpoint_every,
        max_steps_per_epoch=cfg.max_steps_per_epoch,
    )
