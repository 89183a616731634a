"""Sweep-level tables of structural statistics (seed 000 Tables S3, S4; Fig 6b) and confidence (Fig 5b/S5)."""

from __future__ import annotations

import pandas as pd

STRUCT_PREFIXES: dict[str, str] = {
    "inactive_fraction": "analysis.test.inactive_fraction.",
    "mean_activation": "analysis.test.mean_activation.",
    "mean_active_activation": "analysis.test.mean_active_activation.",
    "weight_std": "analysis.test.weight_std.",
}


def structure_table(df: pd.DataFrame, stat: str, n: int | None = None) -> pd.DataFrame:
    """Seed-mean ± std of a per-layer statistic for each β̄ (rows: layers, columns: ``β̄=… mean``/``std``).

    Args:
        df: the sweep table (:func:`coterie.analysis.frame.runs_frame`).
        stat: ``inactive_fraction``, ``mean_activation``, ``mean_active_activation`` or ``weight_std``.
        n: restrict to ensembles of this size (Tables S3/S4 use N = 2).
    """
    prefix = STRUCT_PREFIXES[stat]
    cols = [c for c in df.columns if c.startswith(prefix)]
    sub = df if n is None else df[df["N"] == n]
    rows = []
    for col in cols:
        layer = col[len(prefix) :]
        g = sub.groupby("beta_bar")[col].agg(["mean", "std"])
        row = {"layer": layer}
        for bb, r in g.iterrows():
            row[f"β̄={bb:+g} mean"] = r["mean"]
            row[f"β̄={bb:+g} std"] = r["std"]
        rows.append(row)
    return pd.DataFrame(rows)


def confidence_table(df: pd.DataFrame) -> pd.DataFrame:
    """Seed-mean of member entropy, low-entropy fraction, wall fraction and the Fig 5c Spearman r per (N, β̄)."""
    cols = [
        c
        for c in (
            "analysis.test.member_entropy_mean",
            "analysis.test.member_low_entropy_fraction",
            "analysis.test.wall_fraction",
            "analysis.test.voters_spearman_r",
            "analysis.test.rescued_samples",
            "test.mean_js",
        )
        if c in df.columns
    ]
    return df.groupby(["N", "beta_bar"])[cols].mean().reset_index()
