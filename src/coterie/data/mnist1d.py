"""MNIST-1D (Greydanus 2020), generated offline by the ``mnist1d`` package.

The package's generator is deterministic given its own ``seed`` argument; it reseeds NumPy's global generator, so
generation runs inside a saved/restored NumPy random state. Generated arrays are cached under
``$COTERIE_CACHE`` (default ``~/.cache/coterie``) keyed by the generator arguments.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import torch

from coterie.data.dataset import TensorData

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    return Path(os.environ.get("COTERIE_CACHE", Path.home() / ".cache" / "coterie"))


def load_mnist1d(
    num_samples: int = 5000, length: int = 40, generator_seed: int = 42, cache: bool = True, part: str = "all"
) -> TensorData:
    """MNIST-1D samples: the generator's own training part, its test part, or all of them (train then test, which a
    ``split: random`` re-splits with a seed).

    Args:
        num_samples: samples to generate (a multiple of 10; the package default is 5000).
        length: final sequence length (default 40).
        generator_seed: the generator's seed (42 reproduces the package's standard data).
        cache: read/write the generated arrays in the cache directory.
        part: ``train`` (the generator's first ``train_split`` = 80 %: 4000 of 5000), ``test`` (the remaining 20 %,
            the generator's ``x_test`` in its order) or ``all``.

    Returns:
        :class:`TensorData` with x (M, 40) float32 (standardised by the generator), y (M,) int64, 10 classes.
    """
    from mnist1d.data import get_dataset_args, make_dataset

    if part not in ("train", "test", "all"):
        raise ValueError(f"part must be 'train', 'test' or 'all', got {part!r}")
    args = get_dataset_args(as_dict=True)
    args.update(num_samples=num_samples, final_seq_length=length, seed=generator_seed)
    key = {k: v for k, v in args.items() if k != "url"}
    digest = hashlib.sha1(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    path = cache_dir() / f"mnist1d-{digest}.npz"
    if cache and path.exists():
        z = np.load(path)
        x, y = z["x"], z["y"]
    else:
        from mnist1d.utils import ObjectView

        state = np.random.get_state()
        try:
            d = make_dataset(ObjectView(args))
        finally:
            np.random.set_state(state)
        x = np.concatenate([d["x"], d["x_test"]]).astype(np.float32)
        y = np.concatenate([d["y"], d["y_test"]]).astype(np.int64)
        if cache:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
                np.savez(tmp, x=x, y=y)
                os.replace(tmp, path)
            except OSError as e:  # a read-only home is not an error
                log.warning("could not cache MNIST-1D at %s: %s", path, e)
    if part != "all":  # the cached arrays are the generator's x then x_test; it splits at int(n * train_split)
        n_train = int(len(y) * args["train_split"])
        x, y = (x[:n_train], y[:n_train]) if part == "train" else (x[n_train:], y[n_train:])
    return TensorData(
        torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(np.ascontiguousarray(y)), 10, "mnist1d"
    )
