"""Accuracy-vs-coupling figures with mean ± std funnels over seeds (seed 000 Fig 2c, Fig 3a, Fig 3d, Fig S3)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from coterie.analysis.funnels import funnel, member_columns
from coterie.report._style import cmap
from coterie.utils.figures import subplots


def _band(ax, f: pd.DataFrame, x: str, label: str, color, lw: float = 2.0, ls: str = "-") -> None:
    xs, m, s = f[x].to_numpy(), f["mean"].to_numpy(), np.nan_to_num(f["std"].to_numpy())
    ax.plot(xs, m, marker="o", ms=3, lw=lw, ls=ls, color=color, label=label)
    ax.fill_between(xs, m - s, m + s, color=color, alpha=0.18, lw=0)


def members_and_ensemble_funnel(df: pd.DataFrame, n: int, split: str = "test", x: str = "beta_bar") -> Figure:
    """Fig 2c: accuracy of each member (up to 2 shown, as in the paper) and of the mean-rule ensemble vs the coupling
    for ensembles of size ``n``; funnels = std over seeds; dashed line = the independent ensemble."""
    sub = df[df["N"] == n]
    fig, ax = subplots(figsize=(5.6, 3.8))
    for i, col in enumerate(member_columns(sub, split)[:2]):
        _band(ax, funnel(sub, col, x, by=()), x, f"network {i + 1}", f"C{i + 1}", lw=1.2)
    ens = funnel(sub, f"{split}.ens_acc_mean", x, by=())
    _band(ax, ens, x, "ensemble", "black")
    zero = ens[ens[x] == 0.0]
    if len(zero):
        ax.axhline(float(zero["mean"].iloc[0]), color="black", ls="--", lw=0.8)
    ax.set_xlabel("β̄ = β·N" if x == "beta_bar" else "β")
    ax.set_ylabel(f"{split} accuracy")
    ax.set_title(f"members and ensemble vs coupling, N = {n}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def ensemble_vs_coupling(
    df: pd.DataFrame, split: str = "test", x: str = "beta", rule: str = "mean", sizes: Sequence[int] | None = None
) -> Figure:
    """Fig 3a (``x="beta"``) / Fig 3d (``x="beta_bar"``) / Fig S3a,c (``rule``): ensemble accuracy vs coupling for
    every N, mean ± std over seeds."""
    col = f"{split}.ens_acc_{rule}"
    sizes = sorted(df["N"].unique()) if sizes is None else list(sizes)
    fig, ax = subplots(figsize=(5.6, 3.8))
    cm = cmap("viridis")
    for k, n in enumerate(sizes):
        f = funnel(df[df["N"] == n], col, x, by=())
        _band(ax, f, x, f"N = {n}", cm(k / max(1, len(sizes) - 1)))
    ax.axvline(0.0, color="gray", lw=0.6, ls=":")
    ax.set_xlabel("β̄ = β·N" if x == "beta_bar" else "β (per pair)")
    ax.set_ylabel(f"ensemble {split} accuracy ({rule})")
    ax.set_title(f"ensemble accuracy vs {'β̄' if x == 'beta_bar' else 'β'} ({rule} rule)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def combination_rules(
    df: pd.DataFrame, split: str = "test", rules: Sequence[str] = ("mean", "geometric", "vote")
) -> Figure:
    """Fig S3: one panel per combination rule, ensemble accuracy vs β̄ for every N."""
    sizes = sorted(df["N"].unique())
    fig, axes = subplots(1, len(rules), figsize=(4.2 * len(rules), 3.6), sharey=True)
    cm = cmap("viridis")
    for ax, rule in zip(np.atleast_1d(axes), rules):
        col = f"{split}.ens_acc_{rule}"
        if col not in df.columns:
            continue
        for k, n in enumerate(sizes):
            _band(
                ax,
                funnel(df[df["N"] == n], col, "beta_bar", by=()),
                "beta_bar",
                f"N = {n}",
                cm(k / max(1, len(sizes) - 1)),
                lw=1.5,
            )
        ax.set_title(f"{rule}")
        ax.set_xlabel("β̄")
    np.atleast_1d(axes)[0].set_ylabel(f"ensemble {split} accuracy")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    return fig
