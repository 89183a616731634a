"""Mean ± std over seeds of a metric as a function of the coupling (seed 000 Fig 2c, Fig 3a/d, Fig S3)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd


def funnel(df: pd.DataFrame, y: str, x: str = "beta_bar", by: Sequence[str] = ("N",)) -> pd.DataFrame:
    """Aggregate ``y`` over seeds: columns ``[*by, x, mean, std, count]`` sorted by ``by`` then ``x``.

    ``std`` is the sample standard deviation (ddof = 1; NaN for a single seed), the funnels of the paper's figures.
    """
    if y not in df.columns:
        available = sorted(c for c in df.columns if "." in c)[:40]
        raise KeyError(f"metric {y!r} not in the sweep table; available: {available}")
    keys = [*by, x]
    g = df.dropna(subset=[y]).groupby(keys)[y]
    out = g.agg(["mean", "std", "count"]).reset_index()
    return out.sort_values(keys).reset_index(drop=True)


def member_columns(df: pd.DataFrame, split: str = "test") -> list[str]:
    """The per-member accuracy columns ``{split}.member_acc.<i>`` present in ``df``, in member order."""
    cols = [c for c in df.columns if c.startswith(f"{split}.member_acc.") and c.rsplit(".", 1)[-1].isdigit()]
    return sorted(cols, key=lambda c: int(c.rsplit(".", 1)[-1]))
