"""Dataset registry: ``load_dataset(name, **kwargs) -> TensorData`` and ``names()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coterie.data.cifar import load_cifar
from coterie.data.dataset import TensorData
from coterie.data.digits import load_digits
from coterie.data.mnist1d import load_mnist1d

_LOADERS: dict[str, Callable[..., TensorData]] = {
    "mnist1d": load_mnist1d,
    "digits": lambda **kw: load_digits(**kw),
    "cifar10": lambda data_dir=".", **kw: load_cifar("cifar10", data_dir, **kw),
    "cifar100": lambda data_dir=".", **kw: load_cifar("cifar100", data_dir, **kw),
}


def register_dataset(name: str, loader: Callable[..., TensorData]) -> None:
    """Make ``loader`` available as ``load_dataset(name, ...)``."""
    _LOADERS[name] = loader


def names() -> list[str]:
    return sorted(_LOADERS)


def load_dataset(name: str, **kwargs: Any) -> TensorData:
    """Load a classification dataset by name (``mnist1d``, ``digits``, ``cifar10``, ``cifar100``)."""
    if name not in _LOADERS:
        raise KeyError(f"unknown dataset {name!r}; available: {names()}")
    return _LOADERS[name](**kwargs)
