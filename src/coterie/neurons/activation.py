"""Elementwise activations: the fixed ones coterie names, and :class:`LearnedActivation` (seed 004).

A learned activation is a scalar function realised by a sub-network (a "network within the network"),

    σ(x) = base(x) + scale · MLP(x),     MLP: 1 → hidden → 1,

applied elementwise: every scalar of the input goes through the same sub-network, so a (B, N) pre-activation
yields a (B, N) activation. The sub-network's output layer starts at zero, so σ starts exactly at ``base`` (seed 004
evolves activations "from a base sinusoid" or "from zero"), and meta-learning moves it away from there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import torch
from torch import Tensor, nn

BaseName = Literal["sin", "tanh", "relu", "elu", "zero", "identity"]

_BASES: dict[str, Callable[[Tensor], Tensor]] = {
    "sin": torch.sin,
    "tanh": torch.tanh,
    "relu": torch.relu,
    "elu": nn.functional.elu,
    "zero": torch.zeros_like,
    "identity": lambda x: x,
}


class Sine(nn.Module):
    """``sin(x)`` as a module (torch has none); the paper's baseline activation for the physics tasks."""

    def forward(self, x: Tensor) -> Tensor:
        """Elementwise sine; any shape."""
        return torch.sin(x)


class Base(nn.Module):
    """A named fixed activation (``sin, tanh, relu, elu, zero, identity``) as a module."""

    def __init__(self, name: str) -> None:
        super().__init__()
        if name not in _BASES:
            raise ValueError(f"unknown base activation {name!r}; choose from {sorted(_BASES)}")
        self.name = name
        self._fn = _BASES[name]

    def forward(self, x: Tensor) -> Tensor:
        """Elementwise ``name(x)``; any shape."""
        return self._fn(x)

    def extra_repr(self) -> str:
        return self.name


def fixed_activation(name: str) -> nn.Module:
    """A parameter-free activation module by name (``sin, tanh, relu, elu, zero, identity``)."""
    return Base(name)


class LearnedActivation(nn.Module):
    """σ(x) = base(x) + scale · MLP(x), a scalar-in scalar-out sub-network applied elementwise.

    Args:
        base: the function the activation starts from: ``sin, tanh, relu, elu, zero`` (or ``identity``).
        hidden: width H of the sub-network's single hidden layer (seed 004 uses 50).
        scale: multiplier of the sub-network's output.
        inner: the sub-network's own non-linearity (``tanh`` by default: smooth, so the learned σ is smooth).
        zero_init: start the sub-network's output layer at zero, so σ == base at initialisation.

    Shapes:
        input (*), output (*) — elementwise.
    """

    def __init__(
        self,
        base: BaseName | str = "sin",
        hidden: int = 50,
        scale: float = 1.0,
        inner: str = "tanh",
        zero_init: bool = True,
    ) -> None:
        super().__init__()
        if base not in _BASES:
            raise ValueError(f"unknown base activation {base!r}; choose from {sorted(_BASES)}")
        self.base_name = base
        self._base = _BASES[base]
        self.scale = float(scale)
        self.hidden = int(hidden)
        self.inner = inner
        self.fc_in = nn.Linear(1, hidden)
        self.fc_out = nn.Linear(hidden, 1)
        self._inner = _BASES[inner] if inner in _BASES else getattr(torch, inner)
        if zero_init:
            nn.init.zeros_(self.fc_out.weight)
            nn.init.zeros_(self.fc_out.bias)

    def subnetwork(self, x: Tensor) -> Tensor:
        """The sub-network's contribution MLP(x), elementwise; any shape."""
        flat = x.reshape(-1, 1)
        return self.fc_out(self._inner(self.fc_in(flat))).reshape(x.shape)

    def forward(self, x: Tensor) -> Tensor:
        """σ(x) elementwise; input and output of the same shape (*)."""
        return self._base(x) + self.scale * self.subnetwork(x)

    def extra_repr(self) -> str:
        return f"base={self.base_name}, hidden={self.hidden}, scale={self.scale}, inner={self.inner}"


def is_learned(module: nn.Module) -> bool:
    """Whether ``module`` is a :class:`LearnedActivation` (whose parameters the outer meta-loop owns)."""
    return isinstance(module, LearnedActivation)
