"""Which activations a Hamiltonian network can train through (seed 004, eq. 6).

A Hamiltonian network outputs ∂H/∂x, so its loss reaches a hidden bias b only through σ''(Wx + b): with a
piecewise-linear σ (a linearly interpolated export, ReLU, the identity) σ'' = 0 almost everywhere and the hidden
biases get no gradient at all; the network cannot train. Smooth activations (sine, tanh, a cubic-spline export, a
learned sub-network with a smooth inner non-linearity) keep every parameter trainable.
"""

from __future__ import annotations

from torch import nn

from coterie.neurons.activation import Base, LearnedActivation
from coterie.neurons.interpolated import InterpolatedActivation

#: fixed activations whose second derivative vanishes almost everywhere
PIECEWISE_LINEAR = frozenset({"relu", "identity", "zero"})


def piecewise_linear_parts(module: nn.Module) -> list[str]:
    """Names of the submodules of ``module`` whose σ'' is zero almost everywhere (empty when all are smooth)."""
    bad: list[str] = []
    for name, m in module.named_modules():
        if isinstance(m, InterpolatedActivation) and m.kind == "linear":
            bad.append(f"{name or 'activation'} (linearly interpolated export)")
        elif isinstance(m, Base) and m.name in PIECEWISE_LINEAR:
            bad.append(f"{name or 'activation'} ({m.name})")
        elif isinstance(m, LearnedActivation) and m.base_name in PIECEWISE_LINEAR and m.inner in PIECEWISE_LINEAR:
            bad.append(f"{name or 'activation'} (learned, {m.base_name} base with {m.inner} sub-network)")
    return bad


def check_second_differentiable(module: nn.Module, what: str = "a Hamiltonian network") -> None:
    """Refuse activations with σ'' = 0 almost everywhere inside ``module``.

    Raises:
        ValueError: one line naming the offending activations and what is allowed.
    """
    bad = piecewise_linear_parts(module)
    if bad:
        raise ValueError(
            f"{what} trains through σ'' and a piecewise-linear activation leaves its hidden biases without gradient: "
            f"{', '.join(bad)}; use a smooth one (sin, tanh, elu, a cubic export: export_kind 'cubic', or the "
            "learned sub-network)"
        )
