"""The objective interface: ``objective(ensemble, x, y) -> ObjectiveOutput(losses (N,), terms)``.

An objective maps a batch to one loss per member. The Trainer sums the losses of the members that update and
back-propagates once; an objective in which member i must treat the other members as constants (co-learning: each
network minimises its own L_i) detaches them itself, so the gradient of the sum with respect to member i's parameters
equals the gradient of L_i alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor, nn

from coterie.utils.registry import Registry


@dataclass
class ObjectiveOutput:
    """What an objective returns for one batch.

    Attributes:
        losses: per-member losses, shape (N,), each a scalar mean over the batch.
        terms: named quantities to log (scalars or (N,) tensors), detached.
        logits: the member logits (N, B, C) computed on the way, when the objective has them (saves a forward pass
            for training-set metrics); ``None`` otherwise.
    """

    losses: Tensor
    terms: dict[str, Tensor] = field(default_factory=dict)
    logits: Tensor | None = None


class Objective:
    """Base class. Subclasses implement :meth:`__call__`; :meth:`on_epoch_start` is an optional hook."""

    name: str = "objective"
    #: True when :meth:`per_member` is implemented: each member can learn from its own batch (``data_order:
    #: per_member``). Objectives whose loss couples the members on the same sample leave it False.
    supports_per_member: bool = False

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:  # pragma: no cover
        raise NotImplementedError

    def per_member(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        """Losses (N,) when member i sees its own batch: x (N, B, ...), y (N, B). Objectives that couple members on
        the same sample cannot: the default refuses."""
        raise ValueError(
            f"objective {self.name!r} couples the members on the same samples and needs data_order='shared'; "
            "data_order='per_member' works with objectives that support it (independent)"
        )

    def on_epoch_start(self, epoch: int, ensemble: nn.Module, generator: torch.Generator) -> None:
        """Called by the Trainer before each epoch (DVERGE draws its layer here). Default: nothing."""

    def config(self) -> dict[str, Any]:
        """The constructor arguments, for run records."""
        return {}


T = TypeVar("T", bound=type[Objective])


#: The registered objective classes (a :class:`~coterie.utils.registry.Registry`).
OBJECTIVES: Registry[type[Objective]] = Registry("objective")


def register(name: str) -> Callable[[T], T]:
    """Class decorator registering an objective under ``name`` (used by configs and ``coterie list``; a taken name
    raises ``ValueError``)."""

    def deco(cls: T) -> T:
        OBJECTIVES.add(name, cls)
        cls.name = name
        return cls

    return deco


def names() -> list[str]:
    """Registered objective names."""
    return OBJECTIVES.names()


def get(name: str) -> type[Objective]:
    """The objective class registered under ``name`` (``KeyError`` listing the registered names otherwise)."""
    return OBJECTIVES.get(name)


def create(name: str, **params: Any) -> Objective:
    """Instantiate a registered objective; unknown names and arguments raise clear errors (``KeyError`` listing the
    names, ``TypeError`` listing the arguments)."""
    return OBJECTIVES.create(name, **params)


def member_cross_entropy(logits: Tensor, y: Tensor, log_probs: Tensor | None = None) -> Tensor:
    """Per-member mean cross-entropy: logits (N, B, C), labels (B,) → (N,).

    Pass ``log_probs = logits.log_softmax(-1)`` when the caller has it already, to avoid computing it twice.
    """
    n, b, _ = logits.shape
    lp = logits.log_softmax(-1) if log_probs is None else log_probs
    return -lp.gather(-1, y.view(1, b, 1).expand(n, b, 1)).squeeze(-1).mean(1)
