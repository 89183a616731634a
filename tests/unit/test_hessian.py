"""Hutchinson trace and SLQ spectral density against an exact Hessian of a tiny model."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from coterie.metrics import exact_hessian, hessian_spectral_density, hessian_trace


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2))
    x, y = torch.randn(64, 3), torch.randint(0, 2, (64,))
    return model, nn.functional.cross_entropy, (x, y)


def test_exact_hessian_is_symmetric(tiny) -> None:
    model, loss, data = tiny
    h = exact_hessian(model, loss, data)
    p = sum(q.numel() for q in model.parameters())
    assert h.shape == (p, p)
    torch.testing.assert_close(h, h.T, atol=1e-5, rtol=1e-5)


def test_hutchinson_trace_within_5_percent(tiny) -> None:
    model, loss, data = tiny
    exact = float(torch.trace(exact_hessian(model, loss, data)))
    est = hessian_trace(model, loss, data, probes=1000, seed=0)
    assert isinstance(est, float)
    assert abs(est - exact) <= 0.05 * abs(exact)


def test_slq_range_brackets_and_recovers_exact_extremes(tiny) -> None:
    model, loss, data = tiny
    ev = torch.linalg.eigvalsh(exact_hessian(model, loss, data).double()).numpy()
    lo, hi = ev.min(), ev.max()
    tol = 1e-4 * max(abs(lo), abs(hi))
    # few Lanczos steps: Ritz values lie inside the exact spectrum (interlacing)
    few = hessian_spectral_density(model, loss, data, iterations=6, runs=3, seed=1)
    a, b = few.eig_range
    assert lo - tol <= a <= b <= hi + tol
    # as many steps as parameters: the extremes are found
    full = hessian_spectral_density(model, loss, data, iterations=len(ev), runs=1, seed=2)
    a, b = full.eig_range
    assert abs(a - lo) <= 1e-3 * max(1.0, abs(lo)) + tol and abs(b - hi) <= 1e-3 * max(1.0, abs(hi)) + tol
    for w in full.weights:
        assert abs(w.sum() - 1) < 1e-8
    grid = np.linspace(lo - 1, hi + 1, 4000)
    mass = np.trapezoid(full.density(grid), grid) if hasattr(np, "trapezoid") else np.trapz(full.density(grid), grid)
    assert abs(mass - 1) < 1e-2
    # the near-zero fraction of the full quadrature counts the exact eigenvalues near zero
    frac = full.fraction_near_zero(1e-3)
    exact_frac = float((np.abs(ev) <= 1e-3 * np.abs(ev).max()).mean())
    assert 0 <= frac <= 1 and abs(frac - exact_frac) < 0.35


def test_parameters_the_loss_does_not_reach_give_zero_rows() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))

    def loss(out, y):  # the output bias has no effect on this loss
        return ((out - out.mean()) ** 2).mean()

    data = (torch.randn(16, 2), torch.zeros(16, 1))
    t = hessian_trace(model, loss, data, probes=500)
    exact = float(torch.trace(exact_hessian(model, loss, data)))
    assert abs(t - exact) <= 0.1 * abs(exact) + 1e-6
