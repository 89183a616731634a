"""Combination rules (seed 000 Fig S3): mean, geometric mean and majority vote on hand-made probabilities with known
answers, a numpy reference, and the sweep-level table against a pandas groupby."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from coterie.analysis import combination_table, rule_accuracies
from coterie.metrics.combine import combine

# three members, one sample, three classes: the three rules pick three different classes
P = np.array([[0.01, 0.81, 0.18], [0.41, 0.36, 0.23], [0.64, 0.01, 0.35]])


def test_hand_made_sample_where_every_rule_disagrees() -> None:
    logits = torch.log(torch.tensor(P)).unsqueeze(1)  # (N=3, B=1, C=3)
    mean = combine(logits, "mean")[0].numpy()
    np.testing.assert_allclose(mean, [1.06 / 3, 1.18 / 3, 0.76 / 3])
    g = np.array([0.01 * 0.41 * 0.64, 0.81 * 0.36 * 0.01, 0.18 * 0.23 * 0.35]) ** (1 / 3)
    np.testing.assert_allclose(combine(logits, "geometric")[0].numpy(), g / g.sum())
    np.testing.assert_allclose(combine(logits, "vote")[0].numpy(), [2 / 3, 1 / 3, 0.0])
    assert int(mean.argmax()) == 1  # the mean rule: class 1 (0.393)
    assert int(combine(logits, "geometric").argmax()) == 2  # geometric: the class no member rules out
    assert int(combine(logits, "vote").argmax()) == 0  # two of three members vote for class 0
    for y, expected in [
        (0, {"mean": 0.0, "geometric": 0.0, "vote": 1.0}),
        (1, {"mean": 1.0, "geometric": 0.0, "vote": 0.0}),
        (2, {"mean": 0.0, "geometric": 1.0, "vote": 0.0}),
    ]:
        assert rule_accuracies(logits, torch.tensor([y]), ("mean", "geometric", "vote")) == expected


def test_vote_tie_goes_to_the_lowest_class() -> None:
    logits = torch.log(torch.tensor([[[0.1, 0.2, 0.7]], [[0.1, 0.8, 0.1]]]))
    assert int(combine(logits, "vote").argmax()) == 1  # one vote each for 2 and 1: lowest index wins


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 5), st.integers(1, 8), st.integers(2, 5), st.data())
def test_rule_accuracies_equal_a_numpy_reference(n: int, m: int, c: int, data: st.DataObject) -> None:
    logits = data.draw(arrays(np.float64, (n, m, c), elements=st.floats(-8, 8, allow_nan=False)))
    y = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=m, max_size=m)))
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    mean = p.mean(0)
    logp = np.log(p)
    geo = np.exp(logp.mean(0) - logp.mean(0).max(-1, keepdims=True))
    votes = np.stack([(logits.argmax(-1) == k).sum(0) for k in range(c)], -1)  # member votes: arg-max of logits
    ref = {
        "mean": (mean.argmax(-1) == y).mean(),
        "geometric": (geo.argmax(-1) == y).mean(),
        "vote": (votes.argmax(-1) == y).mean(),
        "logit_mean": (logits.mean(0).argmax(-1) == y).mean(),
    }
    got = rule_accuracies(torch.from_numpy(logits), torch.from_numpy(y))
    assert set(got) == set(ref)
    for rule in ref:
        # arg-max of near-equal values may flip between float orders; only compare clear winners
        assert got[rule] == pytest.approx(ref[rule], abs=_ambiguity(rule, mean, geo, logits, y))


def _ambiguity(rule: str, mean: np.ndarray, geo: np.ndarray, logits: np.ndarray, y: np.ndarray) -> float:
    score = {"mean": mean, "geometric": geo / geo.sum(-1, keepdims=True), "logit_mean": logits.mean(0)}.get(rule)
    if score is None:
        return 1e-6  # accuracies are float32
    top2 = np.sort(score, -1)[:, -2:]
    close = (top2[:, 1] - top2[:, 0]) < 1e-6 * np.maximum(1.0, np.abs(top2[:, 1]))
    return close.sum() / len(y) + 1e-6


def test_combination_table_equals_pandas_groupby() -> None:
    rng = np.random.default_rng(0)
    rows = [
        {
            "N": n,
            "beta_bar": bb,
            "seed": s,
            "test.ens_acc_mean": rng.random(),
            "test.ens_acc_geometric": rng.random(),
            "test.ens_acc_vote": rng.random(),
            "val.ens_acc_vote": rng.random(),
        }
        for n, bb, s in itertools.product((2, 5), (-1.0, 0.0), range(3))
    ]
    df = pd.DataFrame(rows)
    tab = combination_table(df)
    assert list(tab.columns) == ["N", "beta_bar", "rule", "mean", "std", "count"]
    assert len(tab) == 3 * 4
    for rule in ("mean", "geometric", "vote"):
        ref = df.groupby(["N", "beta_bar"])[f"test.ens_acc_{rule}"].agg(["mean", "std", "count"]).reset_index()
        got = tab[tab["rule"] == rule].reset_index(drop=True)
        np.testing.assert_allclose(got[["mean", "std"]].to_numpy(), ref[["mean", "std"]].to_numpy())
        assert (got["count"] == 3).all()
    only_vote = combination_table(df, split="val")
    assert set(only_vote["rule"]) == {"vote"}
    assert combination_table(df.drop(columns=[c for c in df.columns if "ens_acc" in c])).empty
