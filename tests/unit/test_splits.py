"""coterie.data.load_splits: ``official`` keeps the dataset's own test set (file order, never in train/val) and carves
a seeded validation part from its own training set; ``random`` is exactly random_splits on the pooled data."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

from coterie.config import ConfigError, DataConfig, validate_config
from coterie.data import load_dataset, load_splits, official_names, random_splits
from coterie.experiments.build import build_splits


def _unique_images(rng: np.random.Generator, start: int, n: int) -> np.ndarray:
    """n distinct CIFAR rows (n, 3072) uint8: random bytes with the image's index written in the first 3 bytes."""
    data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
    idx = np.arange(start, start + n)
    data[:, 0], data[:, 1], data[:, 2] = idx % 256, (idx // 256) % 256, idx // 65536
    return data


def _write_cifar10(root, n=30):
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    raw = {}
    for i, name in enumerate([f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]):
        batch = {
            b"batch_label": name.encode(),
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": _unique_images(rng, i * n, n),
            b"filenames": [b"x.png"] * n,
        }
        with open(d / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        raw[name] = batch
    return raw


def _write_cifar100(root, n_train=120, n_test=40):
    d = root / "cifar-100-python"
    d.mkdir(parents=True)
    rng = np.random.default_rng(1)
    raw = {}
    for name, start, n in (("train", 0, n_train), ("test", n_train, n_test)):
        batch = {
            b"fine_labels": [int(v) for v in rng.integers(0, 100, n)],
            b"coarse_labels": [int(v) for v in rng.integers(0, 20, n)],
            b"data": _unique_images(rng, start, n),
        }
        with open(d / name, "wb") as f:
            pickle.dump(batch, f)
        raw[name] = batch
    return raw


def _bytes(x: torch.Tensor) -> list[bytes]:
    """Each image of x (M, 3, 32, 32) in [0, 1] back as its 3072 stored bytes."""
    u8 = (x * 255).round().to(torch.uint8).reshape(len(x), -1).numpy()
    return [row.tobytes() for row in u8]


def _check_official(s, test_data: np.ndarray, test_labels: list[int], n_train: int, val_fraction: float):
    assert _bytes(s.test.x) == [row.tobytes() for row in test_data]  # exactly the test batch, in file order
    assert s.test.y.tolist() == test_labels
    test_set = set(_bytes(s.test.x))
    train, val = _bytes(s.train.x), _bytes(s.val.x)
    assert not test_set & set(train) and not test_set & set(val)  # no test image reaches train or val
    assert not set(train) & set(val)
    assert len(train) + len(val) == n_train and len(val) == round(n_train * val_fraction)


def test_cifar10_official_split(tmp_path):
    raw = _write_cifar10(tmp_path)
    s = load_splits("cifar10", split="official", val_fraction=0.1, seed=3, data_dir=tmp_path)
    tb = raw["test_batch"]
    _check_official(s, tb[b"data"], tb[b"labels"], 150, 0.1)
    train_bytes = {row.tobytes() for k, b in raw.items() if k != "test_batch" for row in b[b"data"]}
    assert set(_bytes(s.train.x)) | set(_bytes(s.val.x)) == train_bytes
    again = load_splits("cifar10", split="official", val_fraction=0.1, seed=3, data_dir=tmp_path)
    other = load_splits("cifar10", split="official", val_fraction=0.1, seed=4, data_dir=tmp_path)
    assert torch.equal(s.val.x, again.val.x) and torch.equal(s.train.y, again.train.y)  # seeded
    assert not torch.equal(s.val.x, other.val.x) and torch.equal(s.test.x, other.test.x)


def test_cifar100_official_split(tmp_path):
    raw = _write_cifar100(tmp_path)
    s = load_splits("cifar100", split="official", val_fraction=0.25, seed=0, data_dir=tmp_path)
    _check_official(s, raw["test"][b"data"], raw["test"][b"fine_labels"], 120, 0.25)
    assert s.num_classes == 100


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_random_split_is_todays(tmp_path, name):
    (_write_cifar10 if name == "cifar10" else _write_cifar100)(tmp_path)
    s = load_splits(name, split="random", val_fraction=0.1, test_fraction=0.2, seed=7, data_dir=tmp_path)
    ref = random_splits(load_dataset(name, data_dir=tmp_path), 0.1, 0.2, seed=7)
    for a, b in ((s.train, ref.train), (s.val, ref.val), (s.test, ref.test)):
        assert torch.equal(a.x, b.x) and torch.equal(a.y, b.y)
    default = load_splits(name, val_fraction=0.1, seed=7, data_dir=tmp_path)  # random, test_fraction 0.2
    assert torch.equal(default.test.x, ref.test.x)


def test_mnist1d_official_test_is_the_generators_x_test(tmp_path, monkeypatch):
    monkeypatch.setenv("COTERIE_CACHE", str(tmp_path))
    from mnist1d.data import get_dataset_args, make_dataset
    from mnist1d.utils import ObjectView

    args = get_dataset_args(as_dict=True)
    args.update(num_samples=500)
    state = np.random.get_state()
    try:
        d = make_dataset(ObjectView(args))
    finally:
        np.random.set_state(state)
    for _ in range(2):  # generated, then read back from the cache
        s = load_splits("mnist1d", split="official", val_fraction=0.1, seed=0, num_samples=500)
        assert torch.equal(s.test.x, torch.from_numpy(d["x_test"].astype(np.float32)))
        assert s.test.y.tolist() == d["y_test"].tolist()
        assert (len(s.train), len(s.val), len(s.test)) == (360, 40, 100)
        train_rows = {r.tobytes() for r in d["x"].astype(np.float32)}
        assert {r.numpy().tobytes() for r in torch.cat([s.train.x, s.val.x])} == train_rows
    r = load_splits("mnist1d", split="random", val_fraction=0.1, test_fraction=0.2, seed=1, num_samples=500)
    ref = random_splits(load_dataset("mnist1d", num_samples=500), 0.1, 0.2, seed=1)
    assert torch.equal(r.test.x, ref.test.x) and torch.equal(r.train.x, ref.train.x)


@pytest.mark.parametrize("name", ["digits", "methylation", "physics"])
def test_official_refused_without_a_test_set(name):
    with pytest.raises(ValueError, match=rf"dataset '{name}' has no official test set.*use split: random"):
        load_splits(name, split="official", val_fraction=0.1, seed=0)
    assert name not in official_names()


def test_official_refuses_test_fraction_and_unknown_splits():
    with pytest.raises(ValueError, match=r"test_fraction=0.2 is refused with split: official"):
        load_splits("cifar10", split="official", val_fraction=0.1, test_fraction=0.2, seed=0)
    with pytest.raises(ValueError, match=r"unknown split 'offical'"):
        load_splits("cifar10", split="offical", val_fraction=0.1, seed=0)


def test_config_split_key(tmp_path):
    assert DataConfig().split == "random" and DataConfig().test_fraction is None
    with pytest.raises(ConfigError, match=r"test_fraction=0.1 is refused"):
        validate_config({"data": {"name": "cifar10", "split": "official", "test_fraction": 0.1}})
    with pytest.raises(ConfigError, match=r"'digits' has no official test set"):
        validate_config({"data": {"name": "digits", "split": "official"}})
    with pytest.raises(ConfigError, match=r"split"):
        validate_config({"data": {"split": "pooled"}})
    raw = _write_cifar10(tmp_path)
    cfg = DataConfig(name="cifar10", data_dir=str(tmp_path), split="official", val_fraction=0.2)
    s = build_splits(cfg, seed=0)
    assert _bytes(s.test.x) == [row.tobytes() for row in raw["test_batch"][b"data"]]
    r = build_splits(DataConfig(name="cifar10", data_dir=str(tmp_path)), seed=0)  # the default: random, 0.1 / 0.2
    ref = random_splits(load_dataset("cifar10", data_dir=tmp_path), 0.1, 0.2, seed=0)
    assert torch.equal(r.test.x, ref.test.x) and torch.equal(r.val.x, ref.val.x)
