"""Model registry in the style of timm: ``@register("name")`` on a factory, ``create(name, **kwargs)``, ``names()``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from torch import nn

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}

F = TypeVar("F", bound=Callable[..., nn.Module])


def register(name: str) -> Callable[[F], F]:
    """Decorator registering a model factory under ``name``."""

    def deco(factory: F) -> F:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return deco


def names() -> list[str]:
    """Names of all registered models, sorted."""
    return sorted(_REGISTRY)


def create(name: str, **kwargs: object) -> nn.Module:
    """Build a fresh, independently initialised model.

    Args:
        name: a registered model name (see :func:`names`).
        **kwargs: the factory's keyword arguments (``num_classes``, ``in_features`` or ``in_channels``, ...).

    Raises:
        KeyError: unknown name, listing the registered ones.
        TypeError: an argument the factory does not accept.
    """
    if name not in _REGISTRY:
        raise KeyError(f"unknown model {name!r}; registered models: {names()}")
    return _REGISTRY[name](**kwargs)
