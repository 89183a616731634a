"""data.augment reaches the experiments' Trainers (build_trainer, robustness per-method override) and a spec that does
not fit the inputs fails before any training."""

from __future__ import annotations

import pytest
import torch

from coterie.config import validate_config
from coterie.data import load_splits
from coterie.data.augment import BatchAugment
from coterie.experiments.build import build_ensemble, build_objective, build_trainer, trainer_from_sections
from coterie.experiments.robustness import all_methods, validate_objectives
from coterie.experiments.runner import run_config


def _train_cfg(**data):
    return validate_config(
        {
            "data": {"name": "digits", "val_fraction": 0.2, **data},
            "model": {"name": "mlp", "kwargs": {"hidden": [8]}},
            "ensemble": {"size": 2},
            "epochs": 1,
            "batch_size": 64,
        }
    )


def test_build_trainer_passes_the_configured_augmentation():
    cfg = _train_cfg(augment={"random_crop_padding": 1, "horizontal_flip": True})
    splits = load_splits("digits", val_fraction=0.2, seed=0)
    ens = build_ensemble(cfg.model, cfg.ensemble, splits, 0)
    tr = build_trainer(cfg, ens, build_objective(cfg.objective), input_shape=splits.input_shape)
    assert isinstance(tr.augment, BatchAugment) and tr.augment.padding == 1 and tr.augment.hflip
    with pytest.raises(ValueError, match="input_shape"):
        build_trainer(cfg, ens, build_objective(cfg.objective))
    plain = build_trainer(_train_cfg(), ens, build_objective(_train_cfg().objective))
    assert plain.augment is None


def test_train_run_with_augmentation_changes_training_but_not_evaluation(tmp_path):
    plain = run_config(_train_cfg(), tmp_path / "plain")
    aug = run_config(_train_cfg(augment={"random_crop_padding": 2, "horizontal_flip": True}), tmp_path / "aug")
    assert plain["test"]["member_acc"] != aug["test"]["member_acc"]  # the training batches differed
    again = run_config(_train_cfg(augment={"random_crop_padding": 2, "horizontal_flip": True}), tmp_path / "aug2")
    assert again["test"]["member_acc"] == aug["test"]["member_acc"]  # seeded


def test_robustness_method_augment_overrides_data_and_is_checked_before_training():
    raw = {
        "experiment": "robustness",
        "data": {"name": "digits", "val_fraction": 0.2, "augment": {"horizontal_flip": True}},
        "model": {"name": "mlp", "kwargs": {"hidden": [8]}},
        "methods": [
            {"label": "unprotected", "objective": {"name": "independent"}},
            {
                "label": "GAL",
                "objective": {"name": "gal", "params": {"lam": 0.5}},
                "augment": {"horizontal_flip": True, "gaussian_noise_std": 0.045},
            },
        ],
    }
    cfg = validate_config(raw)
    m = {x.label: x for x in all_methods(cfg)}
    assert m["unprotected"].augment_spec(cfg.data) == {"horizontal_flip": True}
    assert m["GAL"].augment_spec(cfg.data) == {"horizontal_flip": True, "gaussian_noise_std": 0.045}
    splits = load_splits("digits", val_fraction=0.2, seed=0)
    validate_objectives(cfg, splits)
    # a 1-D stand-in for the data: the image augmentations no longer fit, and the run stops before training
    flat = load_splits("digits", val_fraction=0.2, seed=0)
    for part in (flat.train, flat.val, flat.test):
        part.x = part.x.flatten(1)
    with pytest.raises(ValueError, match=r"method 'unprotected': data.augment \['horizontal_flip'\] needs images"):
        validate_objectives(cfg, flat)
    assert torch.equal(flat.train.x, splits.train.x.flatten(1))


@pytest.mark.parametrize("name", ["sgd", "adamw"])
def test_trainer_from_sections_maps_every_optimiser_and_schedule_field(name):
    sgd_only = {"momentum": 0.5, "nesterov": True} if name == "sgd" else {}  # Adam(W) configs refuse them
    cfg = validate_config(
        {
            "data": {"name": "digits", "val_fraction": 0.2},
            "model": {"name": "mlp", "kwargs": {"hidden": [8]}},
            "optimizer": {"name": name, "lr": 0.003, "weight_decay": 0.01, **sgd_only},
            "schedule": {"name": "multistep", "milestones": [2, 4], "gamma": 0.3, "step_size": 7, "warmup_epochs": 1},
            "epochs": 6,
            "batch_size": 32,
            "seed": 4,
            "device": "cpu",
            "data_order": "per_member",
            "frozen": [1],
        }
    )
    splits = load_splits("digits", val_fraction=0.2, seed=0)
    ens = build_ensemble(cfg.model, cfg.ensemble, splits, 0)
    tr = build_trainer(cfg, ens, build_objective(cfg.objective))
    got = {
        k: getattr(tr, k)
        for k in (
            "optimizer",
            "lr",
            "momentum",
            "weight_decay",
            "nesterov",
            "schedule",
            "milestones",
            "gamma",
            "step_size",
            "warmup_epochs",
            "epochs",
            "batch_size",
            "seed",
            "device",
            "data_order",
            "frozen",
        )
    }
    assert got == {
        "optimizer": name,
        "lr": 0.003,
        "momentum": 0.5 if name == "sgd" else 0.9,
        "weight_decay": 0.01,
        "nesterov": name == "sgd",
        "schedule": "multistep",
        "milestones": (2, 4),
        "gamma": 0.3,
        "step_size": 7,
        "warmup_epochs": 1,
        "epochs": 6,
        "batch_size": 32,
        "seed": 4,
        "device": "cpu",
        "data_order": "per_member",
        "frozen": (1,),
    }
    # another experiment's epochs / seed / options, the Trainer's defaults for everything else
    other = trainer_from_sections(
        ens,
        build_objective(cfg.objective),
        cfg,
        cfg.optimizer,
        cfg.schedule,
        epochs=2,
        batch_size=16,
        seed=9,
        progress=False,
    )
    assert (other.epochs, other.batch_size, other.seed, other.progress, other.lr) == (2, 16, 9, False, 0.003)
    assert other.data_order == "shared" and other.frozen == () and other.callbacks == []
