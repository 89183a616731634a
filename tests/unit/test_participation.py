"""Participation ratio (seed 004, eq. 7)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie.metrics import normalized_participation_ratio, participation_ratio


def _numpy_reference(a: np.ndarray) -> float:
    x = a - a.mean(axis=0, keepdims=True)
    cov = x.T @ x / x.shape[0]
    lam = np.linalg.eigvalsh(cov)
    return float(lam.sum() ** 2 / (lam**2).sum())


@given(m=st.integers(2, 60), n=st.integers(1, 40), rank=st.integers(1, 40), seed=st.integers(0, 10_000))
@settings(max_examples=40, deadline=None)
def test_matches_numpy_eigenvalues_and_lies_in_1_to_n(m: int, n: int, rank: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(m, rank)) @ rng.normal(size=(rank, n)) * rng.uniform(0.1, 10)
    r = float(participation_ratio(torch.tensor(a, dtype=torch.float64)))
    assert abs(r - _numpy_reference(a)) <= 1e-8 * max(1.0, r)
    assert 1 - 1e-9 <= r <= n + 1e-9
    assert r <= min(m - 1, rank, n) + 1e-6  # at most the rank of the centred activity


def test_extremes() -> None:
    t = torch.linspace(-1, 1, 200)[:, None]
    one_dim = t * torch.tensor([[1.0, 2.0, -3.0, 0.5]])  # all variance along one direction
    assert abs(float(participation_ratio(one_dim)) - 1.0) < 1e-5
    iso = torch.tensor(np.kron(np.eye(5), np.ones((10, 1))) - 0.2, dtype=torch.float32)  # 50 × 5, equal variance
    assert abs(float(participation_ratio(iso)) - 4.0) < 1e-4  # centring removes one of the 5 directions
    g = torch.randn(20000, 8, generator=torch.Generator().manual_seed(0))
    assert float(normalized_participation_ratio(g)) > 0.99
    assert torch.isnan(participation_ratio(torch.ones(10, 3)))
