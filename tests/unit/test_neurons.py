"""LearnedActivation, diverse layers and interpolated export (seed 004)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coterie.models import DiverseMLP
from coterie.neurons import (
    DiverseActivation,
    InterpolatedActivation,
    LearnedActivation,
    LearnedSpec,
    block_assignment,
    export_activation,
    learned_activations,
    split_parameters,
)


def _trained_like(base: str = "sin", seed: int = 0) -> LearnedActivation:
    """A learned activation moved away from its base, as after meta-learning."""
    torch.manual_seed(seed)
    act = LearnedActivation(base, hidden=50)
    nn.init.normal_(act.fc_out.weight, std=0.2)
    nn.init.normal_(act.fc_out.bias, std=0.2)
    return act


@pytest.mark.parametrize("base", ["sin", "tanh", "relu", "elu", "zero"])
def test_learned_activation_starts_at_its_base(base: str) -> None:
    act = LearnedActivation(base)
    x = torch.linspace(-5, 5, 101)
    ref = {"sin": torch.sin, "tanh": torch.tanh, "relu": torch.relu, "elu": nn.functional.elu}.get(
        base, torch.zeros_like
    )(x)
    torch.testing.assert_close(act(x), ref)


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=3))
@settings(max_examples=15, deadline=None)
def test_learned_activation_is_elementwise(shape: list[int]) -> None:
    act = _trained_like()
    x = torch.randn(*shape)
    y = act(x)
    assert y.shape == x.shape
    perm = torch.randperm(x.numel())
    torch.testing.assert_close(act(x.reshape(-1)[perm]), y.reshape(-1)[perm])


def test_block_assignment_equal_contiguous() -> None:
    assert block_assignment(100, 2).tolist() == [0] * 50 + [1] * 50
    a = block_assignment(10, 3)
    assert a.tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 2]


class _Recorder(nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return x * self.k + self.k


@given(width=st.integers(2, 24), n_types=st.integers(1, 4), seed=st.integers(0, 1000), contiguous=st.booleans())
@settings(max_examples=30, deadline=None)
def test_diverse_activation_routes_units_to_their_type_only(width: int, n_types: int, seed: int, contiguous: bool):
    n_types = min(n_types, width)
    g = torch.Generator().manual_seed(seed)
    assign = None if contiguous else torch.randint(0, n_types, (width,), generator=g)
    types = [_Recorder(float(k + 1)) for k in range(n_types)]
    layer = DiverseActivation(width, types, assign)
    x = torch.randn(3, width, generator=g)
    y = layer(x)
    a = layer.assignment
    for k, t in enumerate(types):
        units = (a == k).nonzero().flatten()
        # type k acted on exactly its own units' values, nothing else
        seen = torch.cat([s.reshape(-1) for s in t.seen]) if t.seen else torch.empty(0)
        assert seen.numel() == 3 * units.numel()
        torch.testing.assert_close(seen.sort().values, x[:, units].reshape(-1).sort().values)
        torch.testing.assert_close(y[:, units], x[:, units] * (k + 1) + (k + 1))


def test_diverse_activation_gradients_stay_in_block() -> None:
    types = [_trained_like(seed=1), _trained_like(seed=2)]
    layer = DiverseActivation(8, types)
    x = torch.randn(4, 8)
    layer(x)[:, :4].sum().backward()  # only type-0 units
    assert all(p.grad is None or p.grad.abs().sum() == 0 for p in types[1].parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in types[0].parameters())


def test_diverse_mlp_parameters_split_into_network_and_subnetworks() -> None:
    m = DiverseMLP(40, 10, (100,), LearnedSpec(num_types=2, hidden=50))
    theta, theta_s = split_parameters(m)
    assert set(theta) == {"body.fc1.weight", "body.fc1.bias", "body.head.weight", "body.head.bias"}
    assert len(theta_s) == 8 and len(learned_activations(m)) == 2
    assert m(torch.randn(5, 40)).shape == (5, 10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cubic_export_matches_subnetwork_within_1e3_on_range(seed: int) -> None:
    act = _trained_like(seed=seed)
    exp = export_activation(act, points=100, lo=-10, hi=10, kind="cubic")
    x = torch.linspace(-10, 10, 20001)
    with torch.no_grad():
        assert (exp(x) - act(x)).abs().max() < 1e-3


def test_linear_export_exact_at_samples_and_within_interpolation_bound() -> None:
    act = _trained_like(seed=3)
    exp = export_activation(act, points=100, kind="linear")
    with torch.no_grad():
        torch.testing.assert_close(exp(exp.grid), act(exp.grid), atol=1e-5, rtol=0)
        x = torch.linspace(-10, 10, 20001)
        # |error| <= h^2/8 max|σ''|; σ'' estimated by second differences on a fine grid
        fine = torch.linspace(-10, 10, 200001, dtype=torch.float64)
        f = act.double()(fine)
        d2 = ((f[2:] - 2 * f[1:-1] + f[:-2]) / (fine[1] - fine[0]) ** 2).abs().max()
        h = 20 / 99
        bound = h * h / 8 * float(d2) + 1e-5
        assert (exp(x) - act.float()(x)).abs().max() <= bound
        # with a finer table the linear export meets 1e-3 too
        fine_exp = export_activation(act, points=1000, kind="linear")
        assert (fine_exp(x) - act(x)).abs().max() < 1e-3


def test_interpolated_extrapolation_and_gradients() -> None:
    ys = torch.linspace(-10, 10, 100) * 2 + 1  # the line 2x + 1
    lin = InterpolatedActivation(ys, kind="linear")
    cub = InterpolatedActivation(ys, kind="cubic")
    clamp = InterpolatedActivation(ys, kind="linear", extrapolate="clamp")
    x = torch.tensor([-15.0, -3.3, 0.0, 7.1, 12.0], requires_grad=True)
    torch.testing.assert_close(lin(x), 2 * x + 1)
    torch.testing.assert_close(cub(x), 2 * x + 1, atol=1e-4, rtol=0)
    torch.testing.assert_close(clamp(x.detach())[[0, -1]], torch.tensor([-19.0, 21.0]))
    lin(x).sum().backward()
    torch.testing.assert_close(x.grad, torch.full_like(x, 2.0))


def test_exported_types_plug_into_a_new_network() -> None:
    acts = [_trained_like(seed=4), _trained_like("tanh", seed=5)]
    exported = [export_activation(a) for a in acts]
    net = DiverseMLP(40, 10, (100,), exported)
    assert not any(True for _ in net.body.act1.parameters())  # nothing left to learn in the activations
    x = torch.randn(7, 40)
    pre = net.body.fc1(x)
    with torch.no_grad():
        h = net.body.act1(pre)
        torch.testing.assert_close(h[:, :50], exported[0](pre[:, :50]))
        torch.testing.assert_close(h[:, 50:], exported[1](pre[:, 50:]))
