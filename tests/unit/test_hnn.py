"""Hamiltonian networks train every parameter (seed 004, eq. 6; issue 21 point 1).

The HNN's output is ∂H/∂x, so a hidden bias only reaches the loss through σ''. Every allowed activation kind must
give every parameter a non-zero gradient, except the constants of H: the bias of H's output layer and, for a learned
activation, the bias of its sub-network's output layer (σ + c adds c·Σw to H). Piecewise-linear activations are
refused.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coterie.models.hnn import HamiltonianNet
from coterie.neurons import LearnedActivation, LearnedSpec, export_activation


def _exported(kind: str) -> list[nn.Module]:
    torch.manual_seed(0)
    return [
        export_activation(LearnedActivation("sin", 8, zero_init=False), kind=kind),
        export_activation(LearnedActivation("tanh", 8, zero_init=False), kind=kind),
    ]


def _constants_of_h(net: nn.Module) -> set[str]:
    """Parameters that shift H by a constant: they cannot affect ∂H/∂x."""
    out = {n for n, _ in net.named_parameters() if n.endswith("head.bias")}
    return out | {n for n, _ in net.named_parameters() if n.endswith("fc_out.bias")}


ALLOWED = {
    "sin": lambda: "sin",
    "tanh": lambda: "tanh",
    "elu": lambda: "elu",
    "cubic export": lambda: _exported("cubic"),
    "learned sub-network": lambda: LearnedSpec(2, "sin", 8),
}


@pytest.mark.parametrize("separable", [False, True])
@pytest.mark.parametrize("kind", sorted(ALLOWED))
def test_every_parameter_of_an_hnn_gets_a_gradient(kind: str, separable: bool) -> None:
    torch.manual_seed(1)
    net = HamiltonianNet(2, (12,), ALLOWED[kind](), separable=separable).double()
    for name, p in net.named_parameters():
        if name.endswith("fc_out.weight"):  # the zero init of a learned σ's output layer (σ = base at the start)
            nn.init.normal_(p, std=0.5)
    x = torch.randn(64, 4, dtype=torch.float64) * 0.6
    y = torch.randn(64, 4, dtype=torch.float64)
    ((net(x) - y) ** 2).sum(1).mean().backward()
    constants = _constants_of_h(net)
    for name, p in net.named_parameters():
        if name in constants:
            assert p.grad is None or float(p.grad.abs().max()) == 0.0, name  # H + c has the same derivatives
        else:
            assert p.grad is not None and float(p.grad.abs().max()) > 0.0, f"{kind}: {name} got no gradient"


def test_linear_export_leaves_hidden_biases_without_gradient_so_it_is_refused() -> None:
    # the reason, checked on the body alone: ∂H/∂x through a piecewise-linear σ has no path to fc1.bias
    from coterie.neurons import mlp_stack

    body = mlp_stack(4, 1, (12,), _exported("linear")).double()
    x = torch.randn(32, 4, dtype=torch.float64, requires_grad=True)
    (dh,) = torch.autograd.grad(body(x).sum(), x, create_graph=True)
    (dh**2).sum().backward()
    assert body.fc1.bias.grad is None or float(body.fc1.bias.grad.abs().max()) == 0.0
    with pytest.raises(ValueError, match=r"piecewise-linear.*linearly interpolated export.*cubic"):
        HamiltonianNet(2, (12,), _exported("linear"))
    with pytest.raises(ValueError, match=r"act1 \(relu\)"):
        HamiltonianNet(2, (12,), "relu", separable=True)
