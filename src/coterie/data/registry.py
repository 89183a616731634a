"""Dataset registry: ``load_dataset(name, **kwargs) -> TensorData`` and ``names()``.

The loaders live in :data:`DATASETS` (a :class:`~coterie.utils.registry.Registry`): names are unique, an unknown
name lists the registered ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from coterie.data.cifar import load_cifar
from coterie.data.dataset import TensorData
from coterie.data.digits import load_digits
from coterie.data.mnist1d import load_mnist1d
from coterie.utils.registry import Registry

DATASETS: Registry[Callable[..., TensorData]] = Registry("dataset")
DATASETS.add("mnist1d", load_mnist1d)
DATASETS.add("digits", lambda **kw: load_digits(**kw))
DATASETS.add("cifar10", lambda data_dir=".", **kw: load_cifar("cifar10", data_dir, **kw))
DATASETS.add("cifar100", lambda data_dir=".", **kw: load_cifar("cifar100", data_dir, **kw))


#: The options of a config's ``data`` section each built-in loader takes (:class:`coterie.config.DataConfig` refuses a
#: set option the named dataset does not take, rather than ignore it).
LOADER_OPTIONS: dict[str, tuple[str, ...]] = {
    "mnist1d": ("num_samples",),
    "cifar10": ("data_dir",),
    "cifar100": ("data_dir",),
}


def loader_options(name: str) -> tuple[str, ...]:
    """The config ``data`` options (``num_samples``, ``data_dir``) that dataset ``name``'s loader takes."""
    return LOADER_OPTIONS.get(name, ())


def register_dataset(name: str, loader: Callable[..., TensorData]) -> None:
    """Make ``loader`` available as ``load_dataset(name, ...)`` (a taken name raises ``ValueError``)."""
    DATASETS.add(name, loader)


def names() -> list[str]:
    """Registered dataset names, sorted."""
    return DATASETS.names()


def load_dataset(name: str, **kwargs: Any) -> TensorData:
    """Load a classification dataset by name (``mnist1d``, ``digits``, ``cifar10``, ``cifar100``).

    Raises:
        KeyError: unknown name, listing the registered ones.
    """
    return DATASETS.get(name)(**kwargs)
