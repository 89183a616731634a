"""Functional distances of seed 000 (eq. 5, Fig 2b, Fig 4): JS matrices, KL to the target, trajectory distances —
checked against scipy references and closed forms."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy.stats import entropy as scipy_entropy

from coterie.analysis import js_matrix, js_matrix_with_ensemble, member_kl_to_target, trajectory_distances

LN2 = math.log(2.0)


def ref_d(p: np.ndarray, q: np.ndarray) -> float:
    """d(n_i, n_j) of eq. (5) by scipy: mean over samples of JS(p‖q) = ½KL(p‖m) + ½KL(q‖m), m = ½(p + q), in nats.
    (scipy's ``jensenshannon`` is the square root of this, and NaN where rounding makes it slightly negative.)"""
    out = []
    for a, b in zip(p, q):
        m = 0.5 * (a + b)
        out.append(0.5 * scipy_entropy(a, m) + 0.5 * scipy_entropy(b, m))
    return float(np.mean(out))


def ref_matrix(probs: np.ndarray) -> np.ndarray:
    n = probs.shape[0]
    return np.array([[ref_d(probs[i], probs[j]) for j in range(n)] for i in range(n)])


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


@st.composite
def member_logits(draw: st.DrawFn, max_n: int = 5) -> np.ndarray:
    n = draw(st.integers(1, max_n))
    m = draw(st.integers(1, 6))
    c = draw(st.integers(2, 6))
    return draw(arrays(np.float64, (n, m, c), elements=st.floats(-12, 12, allow_nan=False)))


@settings(max_examples=60, deadline=None)
@given(member_logits())
def test_js_matrix_is_a_bounded_symmetric_dissimilarity_equal_to_scipy(logits: np.ndarray) -> None:
    d = js_matrix(torch.from_numpy(logits)).double().numpy()
    n = logits.shape[0]
    assert d.shape == (n, n)
    np.testing.assert_array_equal(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0.0, atol=1e-6)
    assert (d >= 0).all() and (d <= LN2 + 1e-6).all()
    np.testing.assert_allclose(d, ref_matrix(softmax(logits)), atol=2e-6)


def test_disjoint_confident_members_are_ln2_apart_and_identical_ones_zero() -> None:
    big = 60.0
    a = torch.tensor([[big, 0.0, 0.0], [0.0, big, 0.0]])
    b = torch.tensor([[0.0, 0.0, big], [0.0, 0.0, big]])
    d = js_matrix(torch.stack([a, b, a]))
    np.testing.assert_allclose(d.numpy(), LN2 * np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0]]), atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(member_logits(4))
def test_ensemble_row_is_the_distance_to_the_mean_rule(logits: np.ndarray) -> None:
    t = torch.from_numpy(logits)
    d = js_matrix_with_ensemble(t).double().numpy()
    n = logits.shape[0]
    assert d.shape == (n + 1, n + 1)
    np.testing.assert_allclose(d[:n, :n], js_matrix(t).double().numpy(), atol=1e-7)
    probs = softmax(logits)
    p_ens = probs.mean(0)
    ref = np.array([ref_d(probs[i], p_ens) for i in range(n)])
    np.testing.assert_allclose(d[n, :n], ref, atol=2e-6)
    np.testing.assert_allclose(d[:n, n], ref, atol=2e-6)
    assert abs(d[n, n]) < 1e-6
    if n == 1:  # a single network is its own ensemble
        assert abs(d[0, 1]) < 1e-6


@settings(max_examples=40, deadline=None)
@given(member_logits(), st.data())
def test_member_kl_to_one_hot_target_equals_scipy_kl(logits: np.ndarray, data: st.DataObject) -> None:
    n, m, c = logits.shape
    y = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=m, max_size=m)))
    kl = member_kl_to_target(torch.from_numpy(logits), torch.from_numpy(y)).double().numpy()
    probs = softmax(logits)
    q = np.eye(c)[y]
    # scipy's entropy(q, p) is KL(q ‖ p); with one-hot q it is -log p(y), which member_kl_to_target clamps at 1e-12
    ref = np.array(
        [np.mean([min(scipy_entropy(q[k], probs[i, k]), -math.log(1e-12)) for k in range(m)]) for i in range(n)]
    )
    assert kl.shape == (n,)
    np.testing.assert_allclose(kl, ref, rtol=1e-5, atol=1e-5)


def test_member_kl_known_value() -> None:
    # p = (1/2, 1/4, 1/4) for the true class 0 → KL(q‖p) = ln 2; for class 1 → ln 4
    logits = torch.log(torch.tensor([[[0.5, 0.25, 0.25], [0.5, 0.25, 0.25]]]))
    kl = member_kl_to_target(logits, torch.tensor([0, 1]))
    assert kl.shape == (1,)
    assert math.isclose(float(kl[0]), 0.5 * (math.log(2) + math.log(4)), rel_tol=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 5), st.integers(2, 4), st.integers(0, 2**31 - 1))
def test_trajectory_distances_blocks_and_points(t: int, n: int, m: int, c: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(t, n, m, c, generator=g, dtype=torch.float64) * 3
    d = trajectory_distances(logits).double().numpy()
    k = n + 1
    assert d.shape == (t * k, t * k)
    np.testing.assert_array_equal(d, d.T)
    # diagonal blocks: the (N+1)x(N+1) matrices of each epoch
    for s in range(t):
        np.testing.assert_allclose(
            d[s * k : (s + 1) * k, s * k : (s + 1) * k], js_matrix_with_ensemble(logits[s]).double().numpy(), atol=1e-7
        )
    # an off-diagonal entry: network i at epoch s vs network j (or the ensemble) at epoch u, by scipy
    probs = softmax(logits.numpy())
    pts = np.concatenate([probs, probs.mean(1, keepdims=True)], 1)
    for s, i, u, j in [(0, 0, t - 1, n), (t - 1, n - 1, 0, 0)]:
        np.testing.assert_allclose(d[s * k + i, u * k + j], ref_d(pts[s, i], pts[u, j]), atol=2e-6)


def test_trajectory_of_a_frozen_ensemble_repeats_its_matrix() -> None:
    logits = torch.randn(2, 5, 4)
    traj = trajectory_distances(torch.stack([logits, logits, logits]))
    one = js_matrix_with_ensemble(logits)
    for s in range(3):
        for u in range(3):
            torch.testing.assert_close(traj[s * 3 : (s + 1) * 3, u * 3 : (u + 1) * 3], one, atol=1e-6, rtol=0)
