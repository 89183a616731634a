"""Networks that forecast dynamics (seed 004): Hamiltonian neural networks and conventional derivative networks.

Both map a state (B, 2d) = (q, p) — or (q, q̇) for the conventional network — to its time derivative (B, 2d):

- :class:`HamiltonianNet` (``hnn``) learns a scalar H(q, p) and returns Hamilton's equations (eq. 4),
  (∂H/∂p, −∂H/∂q), by reverse-mode autograd; trained with the loss of eq. 6 (mean squared error on those
  derivatives). ``separable=True`` uses H = T(p) + V(q) (two networks), for which leapfrog is exactly symplectic.
- :class:`DerivativeNet` (``physics-mlp``) outputs the derivatives directly (eq. 5).

Their hidden neurons come from an :data:`~coterie.neurons.diverse.ActivationSpec` (a fixed name, learned types, or
exported interpolated types), so the same learned-diversity machinery drives both.

:func:`rollout` integrates any such vector field with explicit Euler or leapfrog (Störmer–Verlet: half kick, drift,
half kick). For a non-separable learned H the leapfrog here is the explicit variant (not exactly symplectic), but it
is time-reversible and second order, and conserves H far better than Euler in practice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor

from coterie.models.base import CoterieModel
from coterie.models.registry import register
from coterie.neurons.diverse import ActivationSpec, mlp_stack
from coterie.neurons.smoothness import check_second_differentiable


class HamiltonianNet(CoterieModel):
    """A Hamiltonian neural network: scalar H(q, p) by an MLP, derivatives by autograd.

    Args:
        dim: number of degrees of freedom d (state dimension 2d).
        hidden: hidden widths.
        activation: activation spec (default ``tanh``). It must be smooth: the output ∂H/∂x reaches the hidden
            biases only through σ'', so a piecewise-linear σ (a ``linear`` interpolated export, ReLU) is refused
            (:func:`coterie.neurons.smoothness.check_second_differentiable`); export with ``kind="cubic"``.
        separable: H = T(p) + V(q), each its own MLP.
        mean, std: input normalisation (scalars or per-coordinate (2d,)).

    Shapes: forward (B, 2d) → (B, 2d); :meth:`hamiltonian` (B, 2d) → (B,).
    """

    def __init__(
        self,
        dim: int = 2,
        hidden: Sequence[int] = (100,),
        activation: ActivationSpec = "tanh",
        separable: bool = False,
        mean: float | Sequence[float] = 0.0,
        std: float | Sequence[float] = 1.0,
    ) -> None:
        super().__init__()
        self.dim = dim
        self.separable = separable
        self._set_normalization(mean, std, ndim=2)
        if separable:
            self.potential = mlp_stack(dim, 1, hidden, activation)
            self.kinetic = mlp_stack(dim, 1, hidden, activation)
        else:
            self.body = mlp_stack(2 * dim, 1, hidden, activation)
        check_second_differentiable(self)

    def hamiltonian(self, x: Tensor) -> Tensor:
        """Learned energy H (B,) of natural-range states (B, 2d)."""
        z = self.normalize(x)
        if self.separable:
            return (self.potential(z[:, : self.dim]) + self.kinetic(z[:, self.dim :])).squeeze(-1)
        return self.body(z).squeeze(-1)

    def forward(self, x: Tensor) -> Tensor:
        """Time derivatives (B, 2d) = (∂H/∂p, −∂H/∂q) at states (B, 2d).

        Differentiable with respect to the parameters whenever grad mode is on (the loss of eq. 6 trains through
        the input gradient); under ``torch.no_grad`` it still works and returns detached derivatives.
        """
        keep_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            z = x if x.requires_grad else x.detach().requires_grad_(True)
            (dh,) = torch.autograd.grad(self.hamiltonian(z).sum(), z, create_graph=keep_graph)
        dq, dp = dh[:, : self.dim], dh[:, self.dim :]
        return torch.cat([dp, -dq], dim=1)


class DerivativeNet(CoterieModel):
    """A conventional network: state (q, q̇) (B, 2d) → derivative (q̇, q̈) (B, 2d) directly (eq. 5).

    Args: as :class:`HamiltonianNet` (without ``separable``), plus ``output_scale`` (scalar or (2d,)): the body's
    outputs are multiplied by it, so targets of very different sizes (van der Pol's q̈ reaches ~50) are learned at
    unit scale while the loss stays in natural units.
    """

    output_scale: Tensor

    def __init__(
        self,
        dim: int = 2,
        hidden: Sequence[int] = (100,),
        activation: ActivationSpec = "tanh",
        mean: float | Sequence[float] = 0.0,
        std: float | Sequence[float] = 1.0,
        output_scale: float | Sequence[float] = 1.0,
    ) -> None:
        super().__init__()
        self.dim = dim
        self._set_normalization(mean, std, ndim=2)
        self.register_buffer("output_scale", torch.as_tensor(output_scale, dtype=torch.float32).reshape(1, -1))
        self.body = mlp_stack(2 * dim, 2 * dim, hidden, activation)

    def _forward(self, x: Tensor) -> Tensor:
        return self.body(x) * self.output_scale


def rollout(
    field: Callable[[Tensor], Tensor],
    x0: Tensor,
    dt: float,
    steps: int,
    method: Literal["euler", "leapfrog"] = "leapfrog",
) -> Tensor:
    """Integrate ẋ = field(x) from ``x0`` (B, 2d), state = (q, p).

    ``euler``: x ← x + dt·f(x). ``leapfrog``: p½ = p + ½dt·ṗ(q, p); q' = q + dt·q̇(q, p½); p' = p½ + ½dt·ṗ(q', p½).

    Returns:
        States (steps + 1, B, 2d), the first being ``x0``. Computed without gradients.
    """
    d = x0.shape[1] // 2
    xs = [x0.detach()]
    x = x0.detach()
    with torch.no_grad():
        for _ in range(steps):
            if method == "euler":
                x = x + dt * field(x)
            elif method == "leapfrog":
                q, p = x[:, :d], x[:, d:]
                p_half = p + 0.5 * dt * field(x)[:, d:]
                q_new = q + dt * field(torch.cat([q, p_half], 1))[:, :d]
                p_new = p_half + 0.5 * dt * field(torch.cat([q_new, p_half], 1))[:, d:]
                x = torch.cat([q_new, p_new], 1)
            else:
                raise ValueError(f"unknown integrator {method!r}; use 'euler' or 'leapfrog'")
            xs.append(x)
    return torch.stack(xs)


@register("hnn")
def hnn(
    dim: int = 2,
    hidden: Sequence[int] = (100,),
    activation: ActivationSpec = "tanh",
    separable: bool = False,
    mean: float | Sequence[float] = 0.0,
    std: float | Sequence[float] = 1.0,
) -> HamiltonianNet:
    """Hamiltonian neural network; defaults fit Hénon–Heiles (d = 2, one hidden layer of 100)."""
    return HamiltonianNet(dim, tuple(hidden), activation, separable, mean, std)


@register("physics-mlp")
def physics_mlp(
    dim: int = 2,
    hidden: Sequence[int] = (100,),
    activation: ActivationSpec = "tanh",
    mean: float | Sequence[float] = 0.0,
    std: float | Sequence[float] = 1.0,
    output_scale: float | Sequence[float] = 1.0,
) -> DerivativeNet:
    """Conventional derivative-forecasting network (eq. 5); defaults fit Hénon–Heiles."""
    return DerivativeNet(dim, tuple(hidden), activation, mean, std, output_scale)
