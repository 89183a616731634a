import pickle

import numpy as np
import pytest
import torch

from coterie.data import load_cifar, load_dataset, random_splits
from coterie.utils.errors import InputError


def _write_cifar10(root, n=4):
    d = root / "cifar-10-batches-py"
    d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            b"batch_label": b"training batch",
            b"labels": [int(v) for v in rng.integers(0, 10, n)],
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"x.png"] * n,
        }
        with open(d / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    return d


def test_cifar10_loader_reads_real_format(tmp_path):
    d = _write_cifar10(tmp_path)
    data = load_cifar("cifar10", tmp_path)
    assert data.x.shape == (24, 3, 32, 32) and data.num_classes == 10
    assert float(data.x.min()) >= 0 and float(data.x.max()) <= 1
    # channel-major layout: first 1024 bytes are the red plane of the first image
    with open(d / "data_batch_1", "rb") as f:
        raw = pickle.load(f, encoding="bytes")
    torch.testing.assert_close(data.x[0, 0].flatten() * 255, torch.tensor(raw[b"data"][0, :1024], dtype=torch.float32))
    assert load_cifar("cifar10", tmp_path, part="test").x.shape[0] == 4


def test_cifar100_loader(tmp_path):
    d = tmp_path / "cifar-100-python"
    d.mkdir()
    for name in ("train", "test"):
        with open(d / name, "wb") as f:
            pickle.dump({b"fine_labels": [1, 99], b"coarse_labels": [0, 1], b"data": np.zeros((2, 3072), np.uint8)}, f)
    data = load_cifar("cifar100", tmp_path)
    assert data.num_classes == 100 and data.y.tolist() == [1, 99, 1, 99]


def test_cifar_missing_files_say_what_to_download(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"cifar-10-python\.tar\.gz.*--data-dir") as err:
        load_cifar("cifar10", tmp_path)
    assert isinstance(err.value, InputError)  # the CLI reads it as bad input: exit 2, not a failed run


def test_cifar_refuses_code_in_pickles(tmp_path):
    d = tmp_path / "cifar-10-batches-py"
    d.mkdir()

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        with open(d / name, "wb") as f:
            pickle.dump({b"data": Evil()}, f)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        load_cifar("cifar10", tmp_path)


def test_mnist1d_and_digits_and_splits():
    data = load_dataset("mnist1d", num_samples=500)
    assert data.x.shape == (500, 40) and set(data.y.tolist()) == set(range(10))
    again = load_dataset("mnist1d", num_samples=500)
    assert torch.equal(data.x, again.x)
    s = random_splits(data, 0.1, 0.2, seed=1)
    assert (len(s.train), len(s.val), len(s.test)) == (350, 50, 100)
    s2 = random_splits(data, 0.1, 0.2, seed=2)
    assert not torch.equal(s.test.x, s2.test.x)
    digits = load_dataset("digits")
    assert digits.x.shape == (1797, 1, 8, 8) and float(digits.x.max()) <= 1.0
