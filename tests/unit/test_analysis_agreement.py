"""Per-sample agreement (seed 000 Fig 5, Fig S5, §3.4): true-class probabilities, entropies, the wall fraction, the
confidence-vs-voters Spearman correlation and the decision-border subset, against loop references and scipy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats
from torch import Tensor

from coterie.analysis import (
    agreement_summary,
    confidence_vs_voters,
    decision_border_mask,
    entropy_histograms,
    member_entropies,
    true_class_probabilities,
    wall_fraction,
)


@st.composite
def logits_and_labels(draw: st.DrawFn, min_n: int = 1, max_n: int = 6, max_m: int = 30) -> tuple[Tensor, Tensor]:
    n = draw(st.integers(min_n, max_n))
    m = draw(st.integers(1, max_m))
    c = draw(st.integers(2, 5))
    x = draw(arrays(np.float32, (n, m, c), elements=st.floats(-6, 6, width=32, allow_nan=False)))
    y = draw(st.lists(st.integers(0, c - 1), min_size=m, max_size=m))
    return torch.from_numpy(x), torch.tensor(y)


def softmax(x: np.ndarray) -> np.ndarray:
    z = np.exp(x - x.max(-1, keepdims=True))
    return z / z.sum(-1, keepdims=True)


@settings(max_examples=40, deadline=None)
@given(logits_and_labels())
def test_true_class_probabilities_equal_a_loop(data: tuple[Tensor, Tensor]) -> None:
    logits, y = data
    pm, pe = true_class_probabilities(logits, y)
    p = softmax(logits.double().numpy())
    n, m, _ = p.shape
    ref_m = np.array([[p[i, k, y[k]] for k in range(m)] for i in range(n)])
    ref_e = np.array([p[:, k, y[k]].mean() for k in range(m)])
    np.testing.assert_allclose(pm.numpy(), ref_m, atol=1e-6)
    np.testing.assert_allclose(pe.numpy(), ref_e, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(logits_and_labels(), st.integers(1, 30))
def test_entropies_equal_scipy_and_histograms_are_normalised(data: tuple[Tensor, Tensor], bins: int) -> None:
    logits, _ = data
    h = member_entropies(logits).double().numpy()
    p = softmax(logits.double().numpy())
    np.testing.assert_allclose(h, stats.entropy(p, axis=-1), atol=1e-5)
    counts, edges = entropy_histograms(logits, bins)
    c = logits.shape[-1]
    assert counts.shape == (logits.shape[0], bins) and edges.shape == (bins + 1,)
    assert edges[0] == 0.0 and edges[-1] == pytest.approx(math.log(c))
    # every sample lands in a bin, the uniform-prediction one (entropy ln C up to rounding) included
    np.testing.assert_allclose(counts.sum(1), 1.0)


def test_uniform_members_fall_into_the_last_entropy_bin() -> None:
    for c in range(2, 12):
        counts, _ = entropy_histograms(torch.zeros(2, 3, c), bins=5)
        np.testing.assert_allclose(counts[:, -1], 1.0, err_msg=f"C = {c}")


def test_wall_fraction_by_hand() -> None:
    # (p1, p2) of the true class for 5 samples: walls are (0.9, 0.1) and (0.05, 0.85); (0.9, 0.9), (0.5, 0.1) and
    # (0.1, 0.1) are not (both high, neither high, both low)
    pm = torch.tensor([[0.9, 0.05, 0.9, 0.5, 0.1], [0.1, 0.85, 0.9, 0.1, 0.1]])
    assert wall_fraction(pm) == pytest.approx(2 / 5)
    assert wall_fraction(pm, low=0.5, high=0.5) == pytest.approx(3 / 5)


def ref_voters(logits: np.ndarray, y: np.ndarray) -> np.ndarray:
    n, m, _ = logits.shape
    return np.array([sum(int(np.argmax(logits[i, k]) == y[k]) for i in range(n)) for k in range(m)])


@settings(max_examples=40, deadline=None)
@given(logits_and_labels(min_n=2, max_n=10, max_m=40))
def test_confidence_vs_voters_equals_scipy_spearman(data: tuple[Tensor, Tensor]) -> None:
    logits, y = data
    vc = confidence_vs_voters(logits, y)
    x, yy = logits.numpy(), y.numpy()
    voters = ref_voters(x, yy)
    conf = softmax(x.astype(np.float64)).mean(0)[np.arange(len(yy)), yy]
    np.testing.assert_array_equal(vc.voters, voters)
    np.testing.assert_allclose(vc.confidence, conf, atol=1e-6)
    ens_correct = softmax(x.astype(np.float64)).mean(0).argmax(-1) == yy
    assert vc.rescued == int(((voters == 0) & vc.ensemble_correct).sum())
    if np.ptp(voters) == 0 or np.ptp(vc.confidence) == 0:
        assert math.isnan(vc.spearman_r)
        return
    ref = stats.spearmanr(voters, vc.confidence)
    assert vc.spearman_r == pytest.approx(float(ref.statistic), nan_ok=True)
    assert vc.spearman_p == pytest.approx(float(ref.pvalue), nan_ok=True)
    # the ensemble-correct flags agree with float64 wherever the float32 arg-max is not a near tie
    top2 = np.sort(softmax(x.astype(np.float64)).mean(0), -1)[:, -2:]
    clear = (top2[:, 1] - top2[:, 0]) > 1e-5
    np.testing.assert_array_equal(vc.ensemble_correct[clear], ens_correct[clear])


def test_confidence_tracks_voters_and_rescued_sample() -> None:
    # 3 members, 4 samples, 3 classes, true class 0 throughout
    p = np.array(
        [
            [[0.9, 0.05, 0.05], [0.6, 0.3, 0.1], [0.45, 0.5, 0.05], [0.40, 0.45, 0.15]],
            [[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.2, 0.1, 0.7], [0.40, 0.15, 0.45]],
            [[0.7, 0.2, 0.1], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1], [0.35, 0.25, 0.40]],
        ]
    )
    vc = confidence_vs_voters(torch.log(torch.tensor(p)), torch.zeros(4, dtype=torch.long))
    np.testing.assert_array_equal(vc.voters, [3, 2, 0, 0])
    np.testing.assert_allclose(vc.confidence, p[:, :, 0].mean(0))
    # sample 4: no member votes for class 0, yet the mean (0.383, 0.283, 0.333) picks it: rescued by the ensemble
    np.testing.assert_array_equal(vc.ensemble_correct, [True, True, False, True])
    assert vc.rescued == 1
    assert vc.spearman_r == pytest.approx(stats.spearmanr([3, 2, 0, 0], p[:, :, 0].mean(0)).statistic)


def brute_force_border(logits: np.ndarray, y: np.ndarray, margin: int) -> np.ndarray:
    """Samples on which the members' correct votes split as evenly as N allows (5/5 of 10; 2/3 or 3/2 of 5),
    widened by ±margin voters."""
    n = logits.shape[0]
    lo, hi = n // 2 - margin, (n + 1) // 2 + margin
    votes = ref_voters(logits, y)
    return np.array([lo <= v <= hi for v in votes])


@settings(max_examples=60, deadline=None)
@given(logits_and_labels(min_n=2, max_n=11, max_m=40), st.integers(0, 5))
def test_decision_border_mask_equals_brute_force(data: tuple[Tensor, Tensor], margin: int) -> None:
    logits, y = data
    mask = decision_border_mask(logits, y, margin)
    assert mask.dtype == torch.bool and mask.shape == y.shape
    np.testing.assert_array_equal(mask.numpy(), brute_force_border(logits.numpy(), y.numpy(), margin))


def test_decision_border_of_ten_members_is_the_five_five_split() -> None:
    # sample k has exactly k correct voters among 10 members (k = 0..10)
    n, c = 10, 3
    logits = torch.zeros(n, n + 1, c)
    y = torch.zeros(n + 1, dtype=torch.long)
    for k in range(n + 1):
        logits[:k, k, 0] = 5.0  # members 0..k-1 vote for the true class 0
        logits[k:, k, 1] = 5.0  # the others for class 1
    assert decision_border_mask(logits, y, 0).nonzero().flatten().tolist() == [5]
    assert decision_border_mask(logits, y, 1).nonzero().flatten().tolist() == [4, 5, 6]
    assert decision_border_mask(logits, y, 5).all()


def test_agreement_summary_is_consistent_with_the_parts() -> None:
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 200, 10, generator=g) * 3
    y = torch.randint(0, 10, (200,), generator=g)
    s = agreement_summary(logits, y)
    h = member_entropies(logits)
    assert s["member_entropy_mean"] == pytest.approx(float(h.mean()))
    assert s["member_low_entropy_fraction"] == pytest.approx(float((h < 0.1).float().mean()))
    assert s["wall_fraction"] == pytest.approx(wall_fraction(true_class_probabilities(logits, y)[0]))
    vc = confidence_vs_voters(logits, y)
    assert s["voters_spearman_r"] == pytest.approx(vc.spearman_r)
    assert s["rescued_samples"] == vc.rescued
