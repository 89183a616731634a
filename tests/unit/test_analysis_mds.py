"""MDS of networks from functional distances (seed 000 Fig 4b): a known Euclidean configuration is recovered, and the
reported d-vs-embedding correlation is scipy's Pearson r on the upper triangles."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.spatial.distance import pdist, squareform

from coterie.analysis import embedding_distance_correlation, mds_embedding, trajectory_distances


@settings(max_examples=12, deadline=None)
@given(st.integers(4, 12), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_euclidean_configuration_is_recovered(p: int, dim: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(p, dim)) * rng.uniform(0.1, 10)
    d = squareform(pdist(x))
    emb = mds_embedding(d, dim=dim, seed=0)
    assert emb.points.shape == (p, dim)
    # the embedding's distances are the input distances (a rigid motion of x), not merely correlated with them
    np.testing.assert_allclose(squareform(pdist(emb.points)), d, atol=1e-4 * d.max())
    assert emb.pearson_r > 0.9999
    assert emb.stress < 1e-6 * (d**2).sum()


def test_planar_points_embedded_in_two_dimensions_from_three() -> None:
    rng = np.random.default_rng(3)
    plane = rng.normal(size=(10, 2))
    x = np.c_[plane, np.zeros(10)] @ np.linalg.qr(rng.normal(size=(3, 3)))[0]  # rotated plane in 3-D
    d = squareform(pdist(x))
    emb = mds_embedding(d, dim=2)
    np.testing.assert_allclose(pdist(emb.points), pdist(plane), atol=1e-4)


def test_reported_correlation_is_scipy_pearson_on_the_upper_triangle() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(9, 5))  # 5-D points squeezed into 2-D: an imperfect embedding
    d = squareform(pdist(x))
    emb = mds_embedding(d, dim=2, seed=1)
    iu = np.triu_indices(9, 1)
    ref = stats.pearsonr(d[iu], squareform(pdist(emb.points))[iu])
    assert 0.5 < emb.pearson_r < 1.0
    assert math.isclose(emb.pearson_r, ref.statistic, rel_tol=1e-12)
    assert math.isclose(emb.pearson_p, ref.pvalue, rel_tol=1e-9)
    r, p = embedding_distance_correlation(d, emb.points)
    assert (r, p) == (emb.pearson_r, emb.pearson_p)


def test_js_trajectory_embedding_correlation_matches_scipy() -> None:
    g = torch.Generator().manual_seed(0)
    base = torch.randn(3, 64, 5, generator=g)
    drift = torch.randn(3, 64, 5, generator=g)
    logits = torch.stack([base + 0.6 * t * drift for t in range(4)])  # (T=4, N=3, M, C): networks moving apart
    d = trajectory_distances(logits).double().numpy()
    emb = mds_embedding(d, dim=2)
    assert emb.points.shape == (4 * 4, 2)
    iu = np.triu_indices(16, 1)
    ref = stats.pearsonr(d[iu], pdist(emb.points))
    assert math.isclose(emb.pearson_r, ref.statistic, rel_tol=1e-9)
    assert emb.pearson_r > 0.7


def test_input_is_symmetrised_with_zero_diagonal() -> None:
    rng = np.random.default_rng(1)
    d = squareform(pdist(rng.normal(size=(6, 2))))
    noisy = d + np.triu(rng.normal(scale=1e-3, size=d.shape))  # asymmetric, non-zero diagonal
    np.fill_diagonal(noisy, 0.5)
    a = mds_embedding(noisy, seed=0)
    b = mds_embedding(0.5 * (noisy + noisy.T) - np.diag(np.diag(noisy)), seed=0)
    np.testing.assert_allclose(a.points, b.points)


def test_degenerate_inputs() -> None:
    with pytest.raises(ValueError, match="square"):
        mds_embedding(np.zeros((3, 4)))
    r, p = embedding_distance_correlation(np.ones((2, 2)) - np.eye(2), np.zeros((2, 2)))
    assert math.isnan(r) and math.isnan(p)  # one pair: no correlation
    d = np.ones((4, 4)) - np.eye(4)
    r, _ = embedding_distance_correlation(d, np.random.default_rng(0).normal(size=(4, 2)))
    assert math.isnan(r)  # constant distances: undefined
