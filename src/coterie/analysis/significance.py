"""Wilcoxon signed-rank tests of coupled vs independent ensembles across seeds (seed 000 Fig S4c)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats


def wilcoxon_paired(coupled: np.ndarray, independent: np.ndarray) -> dict[str, float]:
    """Two-sided Wilcoxon signed-rank test on paired samples (one pair per seed).

    Returns ``n`` (pairs), ``mean_diff`` (coupled − independent), ``t_plus`` and ``t_minus`` (rank sums of positive
    and negative differences; the paper quotes T+), ``statistic`` (scipy's, min(T+, T−)) and ``p``. With every
    difference zero the test is undefined: ``p`` = 1.
    """
    a = np.asarray(coupled, dtype=float)
    b = np.asarray(independent, dtype=float)
    d = a - b
    nz = d[d != 0]
    out = {"n": float(len(d)), "mean_diff": float(d.mean()) if len(d) else math.nan}
    if len(nz) == 0:
        return {**out, "t_plus": 0.0, "t_minus": 0.0, "statistic": 0.0, "p": 1.0}
    ranks = stats.rankdata(np.abs(nz))
    out["t_plus"] = float(ranks[nz > 0].sum())
    out["t_minus"] = float(ranks[nz < 0].sum())
    res = stats.wilcoxon(a, b, zero_method="wilcox", alternative="two-sided")
    out["statistic"] = float(res.statistic)
    out["p"] = float(res.pvalue)
    return out


def wilcoxon_table(
    df: pd.DataFrame, metric: str = "test.ens_acc_mean", x: str = "beta_bar", bonferroni: bool = True
) -> pd.DataFrame:
    """For every (N, β̄ ≠ 0): Wilcoxon of ``metric`` against β̄ = 0, paired by seed, with the Bonferroni-corrected
    p-value (``p_bonferroni`` = min(1, p · number of β̄ tested for that N))."""
    rows = []
    for n, g in df.groupby("N"):
        base = g[g[x] == 0.0].set_index("seed")[metric]
        coupled_values = sorted(v for v in g[x].unique() if v != 0.0)
        for xv in coupled_values:
            cur = g[g[x] == xv].set_index("seed")[metric]
            common = cur.index.intersection(base.index)
            res = wilcoxon_paired(cur.loc[common].to_numpy(), base.loc[common].to_numpy())
            m = len(coupled_values) if bonferroni else 1
            rows.append({"N": int(n), x: float(xv), **res, "p_bonferroni": min(1.0, res["p"] * m)})
    return pd.DataFrame(rows)
