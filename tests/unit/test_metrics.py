import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import metrics


def _probs(n, b, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, b, c, generator=g).mul(3).softmax(-1)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 5), st.integers(1, 8), st.integers(2, 6), st.integers(0, 10_000))
def test_js_symmetric_zero_diagonal_bounded(n, b, c, seed):
    p = _probs(n, b, c, seed)
    d = metrics.js_divergence_matrix(p)
    torch.testing.assert_close(d, d.T)
    assert torch.all(d.diagonal().abs() < 1e-6)
    assert float(d.max()) <= math.log(2) + 1e-6 and float(d.min()) >= -1e-7


def test_js_reaches_ln2_on_disjoint_supports_and_matches_reference():
    p = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert abs(float(metrics.js_divergence_matrix(p)[0, 1]) - math.log(2)) < 1e-6
    from scipy.spatial.distance import jensenshannon

    q = _probs(2, 10, 4)
    ref = sum(jensenshannon(q[0, k].numpy(), q[1, k].numpy()) ** 2 for k in range(10)) / 10
    assert abs(float(metrics.js_divergence_matrix(q)[0, 1]) - ref) < 1e-5


def test_js_matrix_passes_its_floor_on():
    # eps floors the probabilities inside the logs: with eps = 0.6 above the mixture's 0.5, each half-KL of two
    # disjoint one-hots is log(1) − log(0.6), so JS = −log 0.6 instead of ln 2
    p = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    assert abs(float(metrics.js_divergence_matrix(p, eps=0.6)[0, 1]) + math.log(0.6)) < 1e-6


def test_kl_matrix_matches_scipy():
    from scipy.stats import entropy

    p = _probs(3, 5, 4)
    k = metrics.kl_divergence_matrix(p)
    ref = sum(entropy(p[0, b].numpy(), p[2, b].numpy()) for b in range(5)) / 5
    assert abs(float(k[0, 2]) - ref) < 1e-5
    assert torch.all(k.diagonal().abs() < 1e-6)


def test_ece_of_calibrated_toy_is_near_zero():
    g = torch.Generator().manual_seed(0)
    b = 200_000
    conf = torch.rand(b, generator=g) * 0.5 + 0.5  # predicted confidence for class 0
    correct = torch.rand(b, generator=g) < conf  # label drawn so that confidence is calibrated
    probs = torch.stack([conf, 1 - conf], -1)
    y = torch.where(correct, 0, 1)
    assert float(metrics.expected_calibration_error(probs, y)) < 0.01
    # an over-confident predictor is not
    over = torch.stack([torch.ones(b) * 0.99, torch.ones(b) * 0.01], -1)
    assert float(metrics.expected_calibration_error(over, y)) > 0.15


def test_accuracy_nll_brier_disagreement_by_hand():
    logits = torch.tensor([[[2.0, 0.0], [0.0, 2.0]], [[2.0, 0.0], [2.0, 0.0]]])  # (2, 2, 2)
    y = torch.tensor([0, 1])
    torch.testing.assert_close(metrics.member_accuracy(logits, y), torch.tensor([1.0, 0.5]))
    torch.testing.assert_close(metrics.disagreement(logits), torch.tensor([[0.0, 0.5], [0.5, 0.0]]))
    p = torch.tensor([[0.8, 0.2], [0.5, 0.5]])
    torch.testing.assert_close(metrics.nll(p, y), -(torch.tensor(0.8).log() + torch.tensor(0.5).log()) / 2)
    torch.testing.assert_close(metrics.brier_score(p, y), torch.tensor((0.04 + 0.04 + 0.25 + 0.25) / 2))
    torch.testing.assert_close(metrics.entropy(torch.tensor([0.5, 0.5])), torch.tensor(math.log(2)))
    torch.testing.assert_close(metrics.correct_voters(logits, y), torch.tensor([2, 1]))


def test_accumulator_equals_one_shot():
    logits = torch.randn(3, 50, 5)
    y = torch.randint(0, 5, (50,))
    acc = metrics.EnsembleMetrics()
    for i in range(0, 50, 16):
        acc.update(logits[:, i : i + 16], y[i : i + 16])
    assert acc.compute() == metrics.ensemble_summary(logits, y)
