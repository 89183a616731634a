"""Summaries and paired comparisons of the ``ldnn`` arms over seeds."""

from __future__ import annotations

from typing import Any

import numpy as np


def compare(values: dict[str, list[float]], higher: bool, mix: str, pures: list[str]) -> dict[str, Any]:
    """Mean difference, paired wins and a Wilcoxon signed-rank p-value of ``mix`` against each arm of ``pures``."""
    from scipy.stats import wilcoxon

    out: dict[str, Any] = {}
    m = np.asarray(values[mix])
    for p in pures:
        q = np.asarray(values[p])
        diff = (m - q) if higher else (q - m)  # > 0 where the mix is better
        try:
            pval = float(wilcoxon(diff).pvalue) if np.any(diff != 0) and diff.size >= 2 else float("nan")
        except ValueError:
            pval = float("nan")
        out[p] = {
            "mean_advantage": float(diff.mean()),
            "mix_wins": int((diff > 0).sum()),
            "ties": int((diff == 0).sum()),
            "seeds": int(diff.size),
            "wilcoxon_p": pval,
        }
    out["mix_better_on_average_than_each_pure"] = all(out[p]["mean_advantage"] > 0 for p in pures)
    return out


def summary(v: list[float]) -> dict[str, float]:
    """Mean, sample std, median, range and count of the finite values of ``v``."""
    a = np.asarray(v, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "median": float("nan"), "n": 0}
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "median": float(np.median(a)),
        "min": float(a.min()),
        "max": float(a.max()),
        "n": int(a.size),
    }
