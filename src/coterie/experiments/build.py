"""Build data splits, ensembles and objectives from validated config sections (shared by experiments)."""

from __future__ import annotations

import inspect
import math
from pathlib import Path
from typing import Any

from coterie import models, objectives
from coterie.config import (
    DataConfig,
    EnsembleConfig,
    ModelConfig,
    ObjectiveConfig,
    OptimizerConfig,
    ScheduleConfig,
    TrainConfig,
)
from coterie.data import Splits, load_splits
from coterie.data.augment import BatchAugment, build_augment
from coterie.data.registry import loader_options
from coterie.ensemble import Ensemble
from coterie.experiments.registry import ExperimentConfig
from coterie.objectives.base import Objective
from coterie.training import Trainer
from coterie.training.callbacks import Callback
from coterie.utils.rundir import RunDir
from coterie.utils.seed import seed_everything


def build_splits(cfg: DataConfig, seed: int) -> Splits:
    """Load the dataset and split it (``cfg.split``: random or official) with ``cfg.split_seed`` (or the run seed)."""
    options = ((k, getattr(cfg, k)) for k in loader_options(cfg.name))
    kwargs: dict[str, Any] = {k: v for k, v in options if v is not None}
    split_seed = seed if cfg.split_seed is None else cfg.split_seed
    return load_splits(
        cfg.name,
        split=cfg.split,
        val_fraction=cfg.val_fraction,
        test_fraction=cfg.test_fraction,
        seed=split_seed,
        **kwargs,
    )


def infer_model_kwargs(
    name: str, input_shape: tuple[int, ...], num_classes: int, given: dict[str, Any]
) -> dict[str, Any]:
    """Fill ``num_classes`` and the input-size arguments a factory accepts from the data, unless given."""
    params = inspect.signature(models.get(name)).parameters
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


def resolved_model_kwargs(model: ModelConfig, splits: Splits) -> dict[str, Any]:
    """Every keyword argument the members are built with: the config's own plus those inferred from the data."""
    return infer_model_kwargs(model.name, splits.input_shape, splits.num_classes, model.kwargs)


def record_model_kwargs(
    rundir: RunDir, config: ExperimentConfig, kwargs: dict[str, Any], section: str = "model"
) -> None:
    """Rewrite ``config.yaml`` with ``<section>.kwargs = kwargs`` (the resolved arguments), so the run directory
    describes its members completely and :func:`coterie.load` rebuilds them without the data. ``fingerprint.json``
    (the config as given) is not touched."""
    raw = config.model_dump(mode="json")
    raw[section] = {**raw[section], "kwargs": kwargs}
    rundir.write_config(raw)


def build_ensemble(model: ModelConfig, ens: EnsembleConfig, splits: Splits, seed: int) -> Ensemble:
    """``ens.size`` independently initialised members (member i seeded by seed·1000 + i)."""
    kwargs = resolved_model_kwargs(model, splits)
    return Ensemble.from_factory(model.name, ens.size, seed=seed * 1000, executor=ens.executor, **kwargs)


def build_objective(cfg: ObjectiveConfig) -> Objective:
    return objectives.create(cfg.name, **cfg.params)


def build_trainer(
    cfg: TrainConfig,
    ensemble: Ensemble,
    objective: Objective,
    run_dir: Any = None,
    input_shape: tuple[int, ...] | None = None,
) -> Trainer:
    """A Trainer configured from a :class:`TrainConfig`; ``input_shape`` (per sample, ``splits.input_shape``) is
    needed when ``cfg.data.augment`` asks for augmentation of the training batches."""
    return trainer_from_sections(
        ensemble,
        objective,
        cfg,
        cfg.optimizer,
        cfg.schedule,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=cfg.seed,
        run_dir=run_dir,
        augment=build_data_augment(cfg.data, input_shape),
        data_order=cfg.data_order,
        bootstrap=cfg.bootstrap,
        amp=cfg.amp,
        frozen=tuple(cfg.frozen),
        checkpoint_every=cfg.checkpoint_every,
        max_steps_per_epoch=cfg.max_steps_per_epoch,
    )


def trainer_from_sections(
    ensemble: Ensemble,
    objective: Objective,
    cfg: ExperimentConfig,
    optimizer: OptimizerConfig,
    schedule: ScheduleConfig,
    *,
    epochs: int,
    batch_size: int,
    seed: int,
    run_dir: Any = None,
    augment: BatchAugment | None = None,
    **options: Any,
) -> Trainer:
    """The one mapping of config sections to a :class:`~coterie.training.Trainer`, used by every experiment.

    ``optimizer`` and ``schedule`` are the config's sections; ``cfg`` gives ``device`` and the ``log:`` callbacks
    (TensorBoard into ``run_dir``); ``epochs``, ``batch_size`` and ``seed`` (the data-order seed) are explicit because
    experiments take them from different fields. ``options`` are passed to the Trainer as they are (``data_order``,
    ``frozen``, ``progress``, ``max_steps_per_epoch``, ...); the Trainer's defaults hold for the rest.

    Example (a MergeConfig): ``trainer_from_sections(ens, Independent(), cfg, cfg.optimizer, cfg.schedule,
    epochs=cfg.epochs, batch_size=cfg.batch_size, seed=seed, run_dir=d, augment=build_data_augment(cfg.data,
    splits.input_shape), data_order=order)``.
    """
    return Trainer(
        ensemble,
        objective,
        optimizer=optimizer.name,
        lr=optimizer.lr,
        momentum=optimizer.momentum,
        weight_decay=optimizer.weight_decay,
        nesterov=optimizer.nesterov,
        schedule=schedule.name,
        step_size=schedule.step_size,
        gamma=schedule.gamma,
        milestones=tuple(schedule.milestones),
        warmup_epochs=schedule.warmup_epochs,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        device=cfg.device,
        run_dir=run_dir,
        callbacks=log_callbacks(cfg, run_dir),
        augment=augment,
        **options,
    )


def build_data_augment(data: DataConfig, input_shape: tuple[int, ...] | None) -> BatchAugment | None:
    """The training-batch augmentation ``data.augment`` asks for (None when none); fails before training when it
    does not fit inputs of ``input_shape``."""
    if not data.augment:
        return None
    if input_shape is None:
        raise ValueError("data.augment is set but the trainer was built without the inputs' shape (input_shape)")
    return build_augment(data.augment, input_shape)


def log_callbacks(cfg: ExperimentConfig, run_dir: Any) -> list[Callback]:
    """The Trainer callbacks the config's ``log:`` section asks for: a TensorBoard logger writing into
    ``RUN_DIR/tensorboard`` when ``log.tensorboard`` is set and there is a run directory; else none."""
    if not cfg.log.tensorboard or run_dir is None:
        return []
    from coterie.training.tensorboard import TensorBoardLogger

    return [TensorBoardLogger(Path(run_dir) / "tensorboard")]


def setup_train(cfg: TrainConfig, rundir: RunDir) -> tuple[Splits, Ensemble, Trainer]:
    """The common start of a train-style experiment: seed everything, build the splits and the ensemble, record the
    resolved model arguments in config.yaml (so the run is rebuildable without the data), then the objective's
    Trainer. Returns (splits, ensemble, trainer)."""
    seed_everything(cfg.seed)
    splits = build_splits(cfg.data, cfg.seed)
    ensemble = build_ensemble(cfg.model, cfg.ensemble, splits, cfg.seed)
    record_model_kwargs(rundir, cfg, resolved_model_kwargs(cfg.model, splits))
    objective = build_objective(cfg.objective)
    trainer = build_trainer(cfg, ensemble, objective, run_dir=rundir.path, input_shape=splits.input_shape)
    return splits, ensemble, trainer
