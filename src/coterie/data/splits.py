"""One entry point for every experiment's data: ``load_splits(name, split=..., val_fraction=..., seed=...)``.

``split="random"`` pools the dataset (for CIFAR: 50k train + 10k test; for MNIST-1D: the generator's 4000 + 1000)
and partitions it at random with the seed (seed 000's protocol: a new split per run); ``test_fraction`` defaults to
0.2. ``split="official"`` keeps the dataset's own test set as ``splits.test``, exactly and in file order, and carves
validation (seeded, ``val_fraction`` of it) out of the dataset's own training set (seeds 002 and 003 report the
official test set); ``test_fraction`` is refused. Datasets without their own test set refuse ``official``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coterie.data.cifar import load_cifar
from coterie.data.dataset import Splits, TensorData, random_splits, split_indices
from coterie.data.mnist1d import load_mnist1d
from coterie.data.registry import load_dataset
from coterie.utils.registry import Registry

DEFAULT_TEST_FRACTION = 0.2
SPLITS = ("random", "official")

# name -> loader(part, **kwargs) of the dataset's own "train" / "test" parts
#: Datasets with their own train/test split: ``loader(part, **kwargs)`` with part ``train``/``test``.
OFFICIAL_SPLITS: Registry[Callable[..., TensorData]] = Registry("dataset with an official split")
OFFICIAL_SPLITS.add("cifar10", lambda part, data_dir=".", **kw: load_cifar("cifar10", data_dir, part=part, **kw))
OFFICIAL_SPLITS.add("cifar100", lambda part, data_dir=".", **kw: load_cifar("cifar100", data_dir, part=part, **kw))
OFFICIAL_SPLITS.add("mnist1d", lambda part, **kw: load_mnist1d(part=part, **kw))

# per-sample input shapes of the built-in datasets (for checking data.augment at config time)
_INPUT_SHAPES: dict[str, tuple[int, ...]] = {
    "cifar10": (3, 32, 32),
    "cifar100": (3, 32, 32),
    "digits": (1, 8, 8),
    "mnist1d": (40,),
}


def register_official(name: str, loader: Callable[..., TensorData]) -> None:
    """Give dataset ``name`` an official train/test split: ``loader(part, **kwargs)`` with part ``train``/``test``
    (a taken name raises ``ValueError``)."""
    OFFICIAL_SPLITS.add(name, loader)


def official_names() -> list[str]:
    """Datasets that have their own test set (and so support ``split: official``)."""
    return OFFICIAL_SPLITS.names()


def known_input_shape(name: str) -> tuple[int, ...] | None:
    """The per-sample input shape of a built-in dataset, or None when it depends on the data."""
    return _INPUT_SHAPES.get(name)


def check_split(name: str, split: str, test_fraction: float | None) -> None:
    """Raise ValueError for a split the dataset cannot give (one line naming what is wrong and what is allowed)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {list(SPLITS)}")
    if split == "official":
        if name not in OFFICIAL_SPLITS:
            raise ValueError(
                f"dataset {name!r} has no official test set, so split: official is not possible; "
                f"use split: random (datasets with one: {official_names()})"
            )
        if test_fraction is not None:
            raise ValueError(
                f"test_fraction={test_fraction} is refused with split: official (the test set is the "
                f"dataset's own); remove test_fraction or use split: random"
            )


def load_splits(
    name: str,
    *,
    split: str = "random",
    val_fraction: float,
    test_fraction: float | None = None,
    seed: int,
    **dataset_kwargs: Any,
) -> Splits:
    """Load dataset ``name`` and split it into train / val / test.

    Args:
        name: a registered dataset (``mnist1d``, ``digits``, ``cifar10``, ``cifar100``, ...).
        split: ``random`` (pool everything, seeded random partition) or ``official`` (the dataset's own test set in
            file order; validation carved at random, seeded, from its own training set).
        val_fraction: fraction of the pooled data (random) or of the official training set (official) for validation.
        test_fraction: random only (default 0.2); must be None with ``official``.
        seed: the split seed.
        **dataset_kwargs: passed to the dataset loader (``data_dir`` for CIFAR, ``num_samples`` for MNIST-1D).

    Returns:
        :class:`Splits` whose parts are :class:`TensorData` (x (M, *input_shape), y (M,)).
    """
    check_split(name, split, test_fraction)
    if split == "random":
        data = load_dataset(name, **dataset_kwargs)
        tf = DEFAULT_TEST_FRACTION if test_fraction is None else test_fraction
        return random_splits(data, val_fraction, tf, seed)
    loader = OFFICIAL_SPLITS.get(name)
    train = loader("train", **dataset_kwargs)
    test = loader("test", **dataset_kwargs)
    tr, va, _ = split_indices(len(train), val_fraction, 0.0, seed)
    return Splits(train.subset(tr), train.subset(va), test)
