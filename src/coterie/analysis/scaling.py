"""Optimal coupling per ensemble size, its gain over independent ensembles, and the log-log scaling fit
(seed 000 Fig 3b–d).

Selection protocol: for each N the optimal β̄ maximises the *validation* ensemble accuracy averaged over seeds; its
*test* accuracy is then reported. The test split never chooses anything.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats


@dataclass(frozen=True)
class PowerLawFit:
    """log|β*| = slope · log N + intercept, fitted by least squares (natural logs)."""

    slope: float
    intercept: float
    slope_stderr: float
    r_value: float
    n_points: int

    def predict(self, n: np.ndarray) -> np.ndarray:
        """|β*| predicted for ensemble sizes ``n``."""
        return np.exp(self.intercept) * np.asarray(n, dtype=float) ** self.slope


def loglog_fit(sizes: np.ndarray, beta_opt: np.ndarray) -> PowerLawFit:
    """Fit log|β*| against log N (the paper: slope −0.99 ± 0.18). Points with β* = 0 are left out.

    Raises:
        ValueError: fewer than two usable points.
    """
    n = np.asarray(sizes, dtype=float)
    b = np.abs(np.asarray(beta_opt, dtype=float))
    ok = (b > 0) & (n > 0) & np.isfinite(b)
    if ok.sum() < 2:
        raise ValueError(f"a log-log fit needs at least two non-zero optimal couplings, got {int(ok.sum())}")
    res = stats.linregress(np.log(n[ok]), np.log(b[ok]))
    return PowerLawFit(float(res.slope), float(res.intercept), float(res.stderr), float(res.rvalue), int(ok.sum()))


def optimal_coupling(
    df: pd.DataFrame,
    select: str = "val.ens_acc_mean",
    report: str = "test.ens_acc_mean",
    x: str = "beta_bar",
) -> pd.DataFrame:
    """Per N: the β̄ that maximises the seed-mean of ``select``, and its ``report`` figures next to β̄ = 0.

    Returns one row per N with ``beta_bar_opt``, ``beta_opt`` (= β̄*/N), ``select_opt``, ``report_opt_mean``,
    ``report_opt_std``, ``report_indep_mean``, ``report_indep_std``, ``gain_mean`` and ``gain_std`` (paired by seed:
    coupled − independent), ``n_seeds``.
    """
    rows = []
    for n, g in df.groupby("N"):
        means = g.groupby(x)[select].mean()
        best = float(means.idxmax())
        opt = g[g[x] == best].set_index("seed")[report]
        indep = g[g[x] == 0.0].set_index("seed")[report]
        common = opt.index.intersection(indep.index)
        gain = (opt.loc[common] - indep.loc[common]) if len(common) else pd.Series(dtype=float)
        rows.append(
            {
                "N": int(n),
                "beta_bar_opt": best,
                "beta_opt": best / float(n),
                "select_opt": float(means.max()),
                "report_opt_mean": float(opt.mean()),
                "report_opt_std": float(opt.std()),
                "report_indep_mean": float(indep.mean()) if len(indep) else float("nan"),
                "report_indep_std": float(indep.std()) if len(indep) else float("nan"),
                "gain_mean": float(gain.mean()) if len(gain) else float("nan"),
                "gain_std": float(gain.std()) if len(gain) > 1 else float("nan"),
                "n_seeds": len(common),
            }
        )
    return pd.DataFrame(rows)


def difference_from_independent(
    df: pd.DataFrame, metric: str = "test.ens_acc_mean", x: str = "beta_bar"
) -> pd.DataFrame:
    """Heatmap data (Fig 3b): mean over seeds of (metric at (N, β̄) − metric at (N, 0)) paired by seed.

    Returns a pivot table: rows N, columns β̄.
    """
    rows = []
    for (n, xv), g in df.groupby(["N", x]):
        base = df[(df["N"] == n) & (df[x] == 0.0)].set_index("seed")[metric]
        cur = g.set_index("seed")[metric]
        common = cur.index.intersection(base.index)
        if len(common):
            rows.append({"N": n, x: xv, "diff": float((cur.loc[common] - base.loc[common]).mean())})
    if not rows:
        return pd.DataFrame()
    return pd.DataFrame(rows).pivot(index="N", columns=x, values="diff")
