"""Physics data (van der Pol, Hénon–Heiles) and Hamiltonian / conventional networks with rollouts."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import models
from coterie.data.physics import (
    HH_ESCAPE_ENERGY,
    henon_heiles_hamiltonian,
    sample_henon_heiles_state,
    simulate_henon_heiles,
    simulate_vanderpol,
    vanderpol_field,
)
from coterie.models.hnn import HamiltonianNet, rollout


def test_vanderpol_derivatives_match_the_sampled_orbit() -> None:
    tr = simulate_vanderpol(trajectories=2, t_end=10.0, dt=0.01, seed=1)
    s = tr.orbit(0).double().numpy()
    fd = (s[2:] - s[:-2]) / 0.02
    d = tr.derivatives[tr.trajectory == 0].double().numpy()[1:-1]
    assert np.abs(fd - d).max() < 0.05 * np.abs(d).max()
    # μ = 2.7 by default: q̈ = μ(1 − q²)q̇ − q
    np.testing.assert_allclose(vanderpol_field(np.array([0.5, 1.0])), [1.0, 2.7 * 0.75 - 0.5])


@given(energy=st.floats(0.01, 0.16), seed=st.integers(0, 1000))
@settings(max_examples=25, deadline=None)
def test_henon_heiles_states_have_the_requested_energy(energy: float, seed: int) -> None:
    s = sample_henon_heiles_state(energy, np.random.default_rng(seed))
    assert abs(henon_heiles_hamiltonian(s) - energy) < 1e-9
    assert s[1] > -0.5 and s[1] < 1 - np.sqrt(3) * abs(s[0])


def test_henon_heiles_orbits_conserve_energy_and_split_by_trajectory() -> None:
    tr = simulate_henon_heiles(energies=(0.05, 0.15), trajectories_per_energy=3, t_end=30.0, dt=0.5, seed=0)
    assert tr.num_trajectories == 6
    for k in range(6):
        e = henon_heiles_hamiltonian(tr.orbit(k).double())
        assert float((e - tr.energy[k]).abs().max()) < 1e-5
        assert float(tr.orbit(k).abs().max()) < 1.5  # bounded
    sp = tr.split(0.2, 0.2, seed=0)
    rows = {tuple(r) for r in sp.train.x.tolist()}
    assert not rows & {tuple(r) for r in sp.val.x.tolist()}
    assert not rows & {tuple(r) for r in sp.test.x.tolist()}
    with pytest.raises(ValueError):
        sample_henon_heiles_state(HH_ESCAPE_ENERGY + 0.01, np.random.default_rng(0))


def test_hnn_returns_hamiltons_equations_of_its_learned_energy() -> None:
    torch.manual_seed(0)
    net = models.create("hnn", dim=2, hidden=(16,), activation="sin")
    x = torch.randn(5, 4)
    out = net(x)
    jac = torch.autograd.functional.jacobian(lambda z: net.hamiltonian(z).sum(), x)
    torch.testing.assert_close(out, torch.cat([jac[:, 2:], -jac[:, :2]], 1))
    assert out.requires_grad  # trainable through the input gradient (eq. 6)
    with torch.no_grad():
        assert not net(x).requires_grad
    conv = models.create("physics-mlp", dim=2, hidden=(16,), activation="tanh")
    assert conv(x).shape == (5, 4)


def test_rollouts_on_an_exact_oscillator() -> None:
    def field(s):  # H = (q² + p²)/2
        return torch.cat([s[:, 1:], -s[:, :1]], 1)

    x0 = torch.tensor([[1.0, 0.0]])
    eu = rollout(field, x0, 0.1, 200, "euler")[:, 0]
    lf = rollout(field, x0, 0.1, 200, "leapfrog")[:, 0]
    energy = lambda s: 0.5 * (s**2).sum(1)  # noqa: E731
    assert float((energy(eu) - 0.5).abs().max()) > 0.5  # Euler spirals outwards
    assert float((energy(lf) - 0.5).abs().max()) < 0.01


def test_trained_hnn_conserves_learned_energy_better_with_leapfrog_than_euler() -> None:
    torch.manual_seed(0)
    tr = simulate_henon_heiles(energies=(0.06, 0.1), trajectories_per_energy=3, t_end=30.0, dt=0.25, seed=3)
    x, y = tr.states, tr.derivatives
    net = HamiltonianNet(2, (32,), "tanh", mean=x.mean(0).tolist(), std=x.std(0).tolist())
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    for _ in range(300):
        idx = torch.randint(0, x.shape[0], (128,))
        loss = ((net(x[idx]) - y[idx]) ** 2).sum(1).mean()  # eq. 6
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        assert float(((net(x) - y) ** 2).sum(1).mean()) < 0.02
    x0 = x[:1]
    drift = {}
    for method in ("euler", "leapfrog"):
        states = rollout(net, x0, 0.1, 300, method)[:, 0]
        with torch.no_grad():
            h = net.hamiltonian(states)
        drift[method] = float((h - h[0]).abs().max())
    assert drift["leapfrog"] < 0.2 * drift["euler"], drift
