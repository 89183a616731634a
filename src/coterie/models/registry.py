"""Model registry in the style of timm: ``@register("name")`` on a factory, ``create(name, **kwargs)``, ``names()``.

The entries live in :data:`MODELS` (a :class:`~coterie.utils.registry.Registry`): names are unique, an unknown name
lists the registered ones and an argument a factory does not take lists the ones it does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from torch import nn

from coterie.utils.registry import Registry

MODELS: Registry[Callable[..., nn.Module]] = Registry("model")

F = TypeVar("F", bound=Callable[..., nn.Module])


def register(name: str) -> Callable[[F], F]:
    """Decorator registering a model factory under ``name`` (a taken name raises ``ValueError``)."""
    return MODELS.register(name)


def names() -> list[str]:
    """Names of all registered models, sorted."""
    return MODELS.names()


def get(name: str) -> Callable[..., nn.Module]:
    """The factory registered under ``name`` (``KeyError`` listing the registered names otherwise)."""
    return MODELS.get(name)


def create(name: str, **kwargs: Any) -> nn.Module:
    """Build a fresh, independently initialised model.

    Args:
        name: a registered model name (see :func:`names`).
        **kwargs: the factory's keyword arguments (``num_classes``, ``in_features`` or ``in_channels``, ...).

    Raises:
        KeyError: unknown name, listing the registered ones.
        TypeError: an argument the factory does not accept (the message lists the accepted ones).
    """
    return MODELS.create(name, **kwargs)
