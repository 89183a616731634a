"""Wilcoxon signed-rank tests of coupled vs independent ensembles (seed 000 Fig S4c) against scipy.stats.wilcoxon and
the rank sums computed by hand."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from coterie.analysis import wilcoxon_paired, wilcoxon_table

# accuracies are multiples of 1/M: ties and zero differences are the normal case, so draw from a coarse grid
acc = st.integers(0, 40).map(lambda k: k / 40)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(acc, acc), min_size=1, max_size=20))
def test_equals_scipy_wilcoxon(pairs: list[tuple[float, float]]) -> None:
    a = np.array([p[0] for p in pairs])
    b = np.array([p[1] for p in pairs])
    res = wilcoxon_paired(a, b)
    d = a - b
    nz = d[d != 0]
    assert res["n"] == len(pairs)
    assert res["mean_diff"] == pytest.approx(d.mean())
    if len(nz) == 0:
        assert res["p"] == 1.0 and res["t_plus"] == 0.0 and res["t_minus"] == 0.0
        return
    ref = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    assert res["statistic"] == pytest.approx(float(ref.statistic))
    assert res["p"] == pytest.approx(float(ref.pvalue), rel=1e-9)
    # T+ and T− by hand: average ranks of |d| over the non-zero differences
    ranks = stats.rankdata(np.abs(nz))
    assert res["t_plus"] == pytest.approx(ranks[nz > 0].sum())
    assert res["t_minus"] == pytest.approx(ranks[nz < 0].sum())
    k = len(nz)
    assert res["t_plus"] + res["t_minus"] == pytest.approx(k * (k + 1) / 2)
    assert res["statistic"] == pytest.approx(min(res["t_plus"], res["t_minus"]))


def test_paper_case_all_coupled_better() -> None:
    # 8 seeds, coupled better on every one (Fig S4c: T+ = 0 is quoted with the roles the other way round)
    indep = np.array([0.60, 0.61, 0.59, 0.62, 0.60, 0.58, 0.61, 0.63])
    coupled = indep + np.array([0.010, 0.020, 0.015, 0.005, 0.030, 0.025, 0.012, 0.018])
    res = wilcoxon_paired(coupled, indep)
    assert res["t_minus"] == 0.0 and res["t_plus"] == 36.0
    assert res["p"] == pytest.approx(2 / 2**8)  # exact two-sided null: P(T− = 0) = 2^-8, doubled
    flipped = wilcoxon_paired(indep, coupled)
    assert flipped["t_plus"] == 0.0 and flipped["p"] == pytest.approx(res["p"])


@settings(max_examples=6, deadline=None)
@given(st.integers(0, 2**31 - 1), st.booleans())
def test_table_pairs_by_seed_and_applies_bonferroni(seed: int, bonferroni: bool) -> None:
    rng = np.random.default_rng(seed)
    rows = [
        {"N": n, "beta_bar": bb, "seed": s, "test.ens_acc_mean": round(rng.uniform(0.5, 0.9), 2)}
        for n, bb, s in itertools.product((2, 5), (-1.0, -0.5, 0.0, 0.5), range(6))
    ]
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=seed)  # row order must not matter
    tab = wilcoxon_table(df, bonferroni=bonferroni)
    assert len(tab) == 2 * 3
    for _, r in tab.iterrows():
        cur = np.array([x["test.ens_acc_mean"] for x in rows if (x["N"], x["beta_bar"]) == (r["N"], r["beta_bar"])])
        base = np.array([x["test.ens_acc_mean"] for x in rows if (x["N"], x["beta_bar"]) == (r["N"], 0.0)])
        ref = wilcoxon_paired(cur, base)  # rows were generated in seed order
        assert r["p"] == pytest.approx(ref["p"])
        assert r["t_plus"] == pytest.approx(ref["t_plus"])
        m = 3 if bonferroni else 1
        assert r["p_bonferroni"] == pytest.approx(min(1.0, ref["p"] * m))
        assert 0.0 <= r["p_bonferroni"] <= 1.0
    assert set(tab["beta_bar"]) == {-1.0, -0.5, 0.5}


def test_missing_seeds_are_left_out_of_the_pairs() -> None:
    df = pd.DataFrame(
        {
            "N": 2,
            "beta_bar": [-1.0] * 4 + [0.0] * 3,
            "seed": [0, 1, 2, 3, 1, 2, 3],
            "test.ens_acc_mean": [0.9, 0.8, 0.7, 0.6, 0.5, 0.65, 0.55],
        }
    )
    r = wilcoxon_table(df).iloc[0]
    assert r["n"] == 3
    assert r["mean_diff"] == pytest.approx(np.mean([0.8 - 0.5, 0.7 - 0.65, 0.6 - 0.55]))
    assert not math.isnan(r["p"])
