"""CIFAR-10 / CIFAR-100 from the standard python-pickle batches on the user's disk.

Expected layout (as unpacked from the official ``cifar-10-python.tar.gz`` / ``cifar-100-python.tar.gz``)::

    DATA_DIR/cifar-10-batches-py/data_batch_1 ... data_batch_5, test_batch
    DATA_DIR/cifar-100-python/train, test

Each file is a pickled dict with ``b"data"`` (n × 3072 uint8, channel-major 3×32×32) and ``b"labels"`` (CIFAR-10)
or ``b"fine_labels"`` (CIFAR-100). The files are read with a restricted unpickler that only rebuilds NumPy arrays
and plain containers, so a tampered file cannot run code.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from coterie.data.dataset import TensorData
from coterie.utils.errors import MissingFileError

URLS = {
    "cifar10": "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    "cifar100": "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
}

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class _SafeUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a CIFAR batch file")


def read_batch(path: Path) -> dict[bytes, Any]:
    """Load one CIFAR python-pickle batch file as a dict with bytes keys."""
    with open(path, "rb") as f:
        obj = _SafeUnpickler(f, encoding="bytes").load()
    if not isinstance(obj, dict) or b"data" not in obj:
        raise ValueError(f"{path} is not a CIFAR batch (no b'data' entry)")
    return obj


def _missing(name: str, data_dir: Path, expected: Path) -> MissingFileError:
    folder = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    return MissingFileError(
        f"{name}: {expected} not found. Download {URLS[name]} (python version), unpack it so that "
        f"{data_dir / folder}/ exists, and pass --data-dir {data_dir} (or data.data_dir in the config)."
    )


def load_cifar(name: str, data_dir: str | Path, part: str = "all") -> TensorData:
    """Read CIFAR-10 or CIFAR-100.

    Args:
        name: ``cifar10`` or ``cifar100``.
        data_dir: the folder that holds ``cifar-10-batches-py`` / ``cifar-100-python``.
        part: ``train``, ``test`` or ``all`` (train then test; the seed-000 protocol re-splits all 60k at random).

    Returns:
        :class:`TensorData` with x (M, 3, 32, 32) float32 in [0, 1] and y (M,) int64.
    """
    data_dir = Path(data_dir)
    if name == "cifar10":
        root = data_dir / "cifar-10-batches-py"
        files = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}
        label_key, classes = b"labels", 10
    elif name == "cifar100":
        root = data_dir / "cifar-100-python"
        files = {"train": ["train"], "test": ["test"]}
        label_key, classes = b"fine_labels", 100
    else:
        raise ValueError(f"unknown CIFAR variant {name!r}; use 'cifar10' or 'cifar100'")
    if part not in ("train", "test", "all"):
        raise ValueError(f"part must be 'train', 'test' or 'all', got {part!r}")
    names = files["train"] + files["test"] if part == "all" else files[part]
    xs, ys = [], []
    for fname in names:
        path = root / fname
        if not path.exists():
            raise _missing(name, data_dir, path)
        batch = read_batch(path)
        data = np.asarray(batch[b"data"], dtype=np.uint8)
        if data.ndim != 2 or data.shape[1] != 3072:
            raise ValueError(f"{path}: b'data' must be (n, 3072) uint8, got {data.shape}")
        labels = np.asarray(batch[label_key], dtype=np.int64)
        if labels.shape[0] != data.shape[0]:
            raise ValueError(f"{path}: {data.shape[0]} images but {labels.shape[0]} labels")
        xs.append(data.reshape(-1, 3, 32, 32))
        ys.append(labels)
    x = torch.from_numpy(np.concatenate(xs)).float() / 255.0
    y = torch.from_numpy(np.concatenate(ys))
    return TensorData(x, y, classes, name)
