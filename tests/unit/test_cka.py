"""Linear CKA: identity, invariances, a Gram-matrix reference, the unbiased HSIC U-statistic, layer-wise matrices."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import coterie
from coterie.metrics import MinibatchCKA, layerwise_cka, linear_cka, unbiased_hsic


def reference_cka(x: np.ndarray, y: np.ndarray) -> float:
    """Kornblith et al. (2019): HSIC(K, L) / sqrt(HSIC(K, K) HSIC(L, L)) with H the centring matrix."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, m = h @ (x @ x.T) @ h, h @ (y @ y.T) @ h
    return float((k * m).sum() / np.sqrt((k * k).sum() * (m * m).sum()))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(5, 30), p=st.integers(1, 40), q=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_linear_cka_matches_gram_reference_and_is_bounded(n: int, p: int, q: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, p, generator=g), torch.randn(n, q, generator=g)
    v = float(linear_cka(x, y))
    assert v == pytest.approx(reference_cka(x.double().numpy(), y.double().numpy()), abs=1e-9)
    assert -1e-12 <= v <= 1 + 1e-12
    assert float(linear_cka(x, x)) == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=20, deadline=None)
@given(n=st.integers(6, 25), p=st.integers(2, 12), seed=st.integers(0, 10_000), scale=st.floats(1e-3, 1e3))
def test_invariant_to_orthogonal_transforms_and_isotropic_scaling(n: int, p: int, seed: int, scale: float) -> None:
    g = torch.Generator().manual_seed(seed)
    x, y = torch.randn(n, p, generator=g).double(), torch.randn(n, p + 3, generator=g).double()
    q, _ = torch.linalg.qr(torch.randn(p, p, generator=g).double())
    base = float(linear_cka(x, y))
    assert float(linear_cka(x @ q, y)) == pytest.approx(base, abs=1e-9)
    assert float(linear_cka(scale * x, y)) == pytest.approx(base, abs=1e-9)
    assert float(linear_cka(x, y * scale)) == pytest.approx(base, abs=1e-9)
    assert float(linear_cka(x + 5.0, y)) == pytest.approx(base, abs=1e-9)  # centred


def test_not_invariant_to_general_linear_maps() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 4, generator=g).double()
    a = torch.diag(torch.tensor([1.0, 10.0, 0.1, 3.0])).double()
    assert float(linear_cka(x, x @ a)) < 0.99


def hsic_u_statistic(k: np.ndarray, l_: np.ndarray) -> float:
    """Song et al. (2012) eq. (4): the U-statistic over ordered 4-tuples of distinct indices (slow reference)."""
    n = k.shape[0]
    total = 0.0
    count = 0
    for i, j, q, r in itertools.permutations(range(n), 4):
        s = 0.0
        for t, u, v, w in itertools.permutations((i, j, q, r)):
            s += k[t, u] * l_[t, u] + k[t, u] * l_[v, w] - 2 * k[t, u] * l_[t, v]
        total += s / 24
        count += 1
    return total / count


def test_unbiased_hsic_equals_u_statistic() -> None:
    g = torch.Generator().manual_seed(3)
    x, y = torch.randn(6, 3, generator=g).double(), torch.randn(6, 2, generator=g).double()
    k, m = x @ x.T, y @ y.T
    assert float(unbiased_hsic(k, m)) == pytest.approx(hsic_u_statistic(k.numpy(), m.numpy()), rel=1e-9)
    with pytest.raises(ValueError, match="at least 4"):
        unbiased_hsic(k[:3, :3], m[:3, :3])


def test_minibatch_cka_is_one_on_itself_and_close_to_full_cka() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 8, generator=g)
    y = x @ torch.randn(8, 5, generator=g) + 0.5 * torch.randn(2000, 5, generator=g)
    acc_xx, acc_xy = MinibatchCKA(), MinibatchCKA()
    for s in range(0, 2000, 250):
        acc_xx.update(x[s : s + 250], x[s : s + 250])
        acc_xy.update(x[s : s + 250], y[s : s + 250])
    assert float(acc_xx.compute()) == pytest.approx(1.0, abs=1e-9)
    assert float(acc_xy.compute()) == pytest.approx(float(linear_cka(x, y)), abs=0.02)


def test_layerwise_cka_matrices() -> None:
    ens = coterie.Ensemble.from_factory("cnn1d", 3, seed=0, channels=(4, 8), hidden=12, input_length=16).eval()
    x = torch.rand(40, 16)
    layers = ["conv1", "conv2", "fc1"]
    mat = layerwise_cka(ens, x, layers)
    assert mat.shape == (3, 3, 3)
    assert torch.allclose(mat, mat.transpose(1, 2))
    assert torch.allclose(mat.diagonal(dim1=1, dim2=2), torch.ones(3, 3, dtype=torch.float64))
    assert float(mat.min()) >= 0 and float(mat.max()) <= 1 + 1e-9
    mb = layerwise_cka(ens, x, layers, batch_size=20)
    assert mb.shape == (3, 3, 3)
    same = coterie.Ensemble([ens.members[0], ens.members[0]]).eval()
    assert torch.allclose(layerwise_cka(same, x, layers), torch.ones(3, 2, 2, dtype=torch.float64))
