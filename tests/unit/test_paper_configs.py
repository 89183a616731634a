"""Every shipped recipe in configs/ loads and validates without running anything (no data needed); sweep files
expand their whole grid, every grid point validated. The seed-000 paper recipes carry the paper's settings."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import yaml

from coterie.config import load_config
from coterie.sweep import load_sweep

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
ALL = sorted(CONFIGS.glob("*.yaml"))
# the folder the CIFAR loader appends to data_dir (coterie.data.cifar)
CIFAR_FOLDERS = {"cifar10": "cifar-10-batches-py", "cifar100": "cifar-100-python"}


def test_there_are_configs():
    assert len(ALL) >= 20
    assert {"colearn-lenet-cifar10-paper.yaml", "colearn-vgg9-cifar100-paper.yaml"} <= {p.name for p in ALL}


def _data_sections(raw: dict) -> list[dict]:
    return [raw["data"]] if isinstance(raw.get("data"), dict) else []


@pytest.mark.parametrize("path", ALL, ids=[p.name for p in ALL])
def test_config_loads_and_validates(path: Path):
    raw = yaml.safe_load(path.read_text())
    assert isinstance(raw, dict), path
    if "sweep" in raw:
        spec = load_sweep(path)
        runs = spec.expand()  # validates the base and every grid point; runs nothing
        assert len(runs) == math.prod(len(v) for v in spec.grid.values())  # no grid point collapses into another
        assert len({r.name for r in runs}) == len(runs)
        assert runs[0].config.experiment == raw.get("experiment", "train")
    else:
        cfg = load_config(path)
        assert cfg.experiment == raw.get("experiment", "train")
    for data in _data_sections(raw):
        if data.get("name") in CIFAR_FOLDERS and data.get("data_dir"):
            # data_dir is the folder that *holds* cifar-10-batches-py/ or cifar-100-python/
            assert Path(data["data_dir"]).name not in CIFAR_FOLDERS.values(), f"{path.name}: data_dir {data}"


def _grid_values(spec, key):
    return spec.grid.get(key, [])


def test_lenet_cifar10_paper_recipe_has_the_paper_settings():
    spec = load_sweep(CONFIGS / "colearn-lenet-cifar10-paper.yaml")
    base = load_config(spec.base)
    assert base.experiment == "colearn"
    assert base.model.name == "lenet5"
    assert base.data.name == "cifar10"
    assert base.optimizer.model_dump() == {
        "name": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 0.0005,
        "nesterov": False,
    }
    assert base.schedule.name == "constant"
    assert (base.batch_size, base.epochs) == (512, 150)
    # 50,000 train(+val) / 10,000 test out of 60,000, with validation carved from the training part
    assert round(60_000 * base.data.test_fraction) == 10_000
    assert round(60_000 * base.data.val_fraction) == 5_000
    assert base.objective.name == "colearning" and base.objective.params["normalize"] is False
    assert len(_grid_values(spec, "seed")) == 30
    sizes = _grid_values(spec, "ensemble.size")
    assert min(sizes) == 2 and max(sizes) == 50
    betas = _grid_values(spec, "objective.params.beta")
    assert min(betas) == -1.0 and max(betas) == 1.0 and 0.0 in betas  # the paper's range [−1, 1]
    assert {-0.4, 0.4, -0.07} <= set(betas)  # the values named in Tables S3–S5


def test_vgg9_cifar100_paper_recipe_has_the_supplementary_settings():
    spec = load_sweep(CONFIGS / "colearn-vgg9-cifar100-paper.yaml")
    base = load_config(spec.base)
    assert base.experiment == "colearn"
    assert base.model.name == "vgg9" and base.model.kwargs.get("width", 1.0) == 1.0
    assert base.data.name == "cifar100"
    assert base.optimizer.model_dump() == {
        "name": "sgd",
        "lr": 0.01,
        "momentum": 0.9,
        "weight_decay": 0.0005,
        "nesterov": False,
    }
    assert base.schedule.name == "cosine"
    assert (base.batch_size, base.epochs) == (256, 150)
    assert round(60_000 * base.data.test_fraction) == 10_000
    assert base.objective.params["normalize"] is True
    assert len(_grid_values(spec, "seed")) == 8
    assert max(_grid_values(spec, "ensemble.size")) == 7
    betas = _grid_values(spec, "objective.params.beta")
    assert max(betas) == 0.0 and {-1.0, -0.5} <= set(betas)  # β̄ ≤ 0 only, Fig S4c


CROP_FLIP = {"random_crop_padding": 4, "horizontal_flip": True}


@pytest.mark.parametrize(
    "name",
    ["colearn-lenet-cifar10-paper.yaml", "colearn-vgg9-cifar100-paper.yaml", "expansion-lenet-cifar10-paper.yaml"],
)
def test_seed000_recipes_resplit_per_run_with_crops_and_flips(name):
    """Seed 000 Supplementary: "split randomly for each training session, into a train set of 50,000 samples and a
    test set of 10,000 samples"; "random crops and random horizontal flips"."""
    base = load_config(load_sweep(CONFIGS / name).base)
    assert base.data.split == "random" and base.data.augment == CROP_FLIP
    assert round(60_000 * base.data.test_fraction) == 10_000 and round(60_000 * base.data.val_fraction) == 5_000


@pytest.mark.parametrize("name", ["robustness-paper.yaml", "robustness-paper-cifar100.yaml"])
def test_seed002_recipes_use_the_official_test_set_and_augment(name):
    """Seed 002 §5.1: Adam from 0.001, "random shifts, flips and crops"; Table 2 reports the test set."""
    cfg = load_config(CONFIGS / name)
    assert cfg.data.split == "official" and cfg.data.test_fraction is None
    assert round(50_000 * cfg.data.val_fraction) == 5_000  # 45,000 / 5,000 out of the official training set
    assert cfg.data.augment == CROP_FLIP
    assert (cfg.optimizer.name, cfg.optimizer.lr, cfg.schedule.name) == ("adam", 0.001, "constant")
    for m in cfg.methods:
        if m.objective.name == "gal":  # GAL's official trainer (DVERGE repository) adds N(0, 0.045²) to half
            assert m.augment_spec(cfg.data) == {**CROP_FLIP, "gaussian_noise_std": 0.045, "gaussian_noise_prob": 0.5}
        else:
            assert m.augment_spec(cfg.data) == CROP_FLIP


def test_seed003_merge_recipe_has_the_paper_settings():
    """Seed 003 §4.1: 45,000 / 5,000 from the CIFAR-10 training set, no augmentation, batch 256, 50 epochs, Adam 0.01;
    MeGA population 20, 20 generations, 4 parents, p_mut 0.02; ResNet-56 (0.86M parameters)."""
    cfg = load_config(CONFIGS / "merge-paper.yaml")
    assert cfg.data.split == "official" and round(50_000 * cfg.data.val_fraction) == 5_000
    assert cfg.data.augment is None
    assert (cfg.optimizer.name, cfg.optimizer.lr, cfg.batch_size, cfg.epochs) == ("adam", 0.01, 256, 50)
    assert (cfg.mega.population, cfg.mega.generations, cfg.mega.parents, cfg.mega.p_mut) == (20, 20, 4, 0.02)
    from coterie.models import create

    net = create(cfg.model.name, **cfg.model.kwargs)
    assert 0.84e6 < sum(p.numel() for p in net.parameters()) < 0.88e6  # ResNet-56's 0.86M
