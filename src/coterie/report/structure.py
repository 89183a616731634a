"""Structure figures (seed 000 Fig 6): sparsity during training, mean activation per layer, weight histograms."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from coterie.report._style import regime_color, regime_label
from coterie.report.rundata import RunData
from coterie.utils.figures import subplots


def sparsity_during_training(runs: Sequence[RunData], layer: str | None = None) -> Figure:
    """Fig 6a: fraction of inactive units of the first hidden activation layer per epoch (validation), member 1.

    A run whose records hold no activity (its members have no activation layers; see
    :class:`coterie.analysis.TrajectoryRecorder`) is named in a note on the figure instead of being left out silently.
    """
    fig, ax = subplots(figsize=(5.0, 3.4))
    missing = []
    for run in runs:
        hist = [r for r in run.history if r.get("val_inactive_fraction")]
        if not hist:
            missing.append(run.path.name)
            continue
        name = layer or next(iter(hist[0]["val_inactive_fraction"]))
        vals = [np.mean(r["val_inactive_fraction"][name][:1]) for r in hist]
        ax.plot(
            [r["epoch"] + 1 for r in hist],
            vals,
            color=regime_color(run.beta_bar or 0.0),
            label=regime_label(run.beta_bar or 0.0),
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel("fraction of inactive units")
    ax.set_title(f"sparsity of the first hidden layer{f' ({layer})' if layer else ''}", fontsize=9)
    if missing:
        note = f"no activity recorded (no activation layers) for {len(missing)} run(s): {', '.join(missing)}"
        ax.text(0.5, 0.5, note, ha="center", va="center", wrap=True, fontsize=7, transform=ax.transAxes)
    if len(missing) < len(runs):
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def per_layer_bars(table: pd.DataFrame, ylabel: str, title: str) -> Figure:
    """Fig 6b / Tables S3–S4 as bars: a :func:`coterie.analysis.structure_table` (layers × β̄ mean/std)."""
    fig, ax = subplots(figsize=(6.0, 3.4))
    if table.empty:
        ax.text(0.5, 0.5, "no data", ha="center", va="center")
        return fig
    betas = [c[:-5] for c in table.columns if c.endswith(" mean")]
    width = 0.8 / max(1, len(betas))
    x = np.arange(len(table))
    for k, b in enumerate(betas):
        bb = float(b.split("=")[1])
        ax.bar(
            x + k * width,
            table[f"{b} mean"],
            width,
            yerr=table[f"{b} std"].fillna(0),
            label=b,
            color=regime_color(bb),
            alpha=0.35 + 0.65 * (k + 1) / len(betas),
            capsize=2,
        )
    ax.set_xticks(x + 0.4 - width / 2, table["layer"])
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    return fig


def weight_histograms(runs: Sequence[RunData], layer: str, bins: int = 60) -> Figure:
    """Fig 6c: histogram of one member's weights in ``layer`` for each run (coupling regime)."""
    fig, ax = subplots(figsize=(5.0, 3.4))
    allw = [r.layer_weights(layer)[:1] for r in runs]
    flat = np.concatenate([w[0] for w in allw if w]) if any(allw) else np.zeros(1)
    edges = np.linspace(np.percentile(flat, 0.5), np.percentile(flat, 99.5), bins + 1)
    for run, w in zip(runs, allw):
        if not w:
            continue
        ax.hist(
            w[0],
            bins=edges,
            histtype="step",
            lw=1.5,
            density=True,
            color=regime_color(run.beta_bar or 0.0),
            label=f"{regime_label(run.beta_bar or 0.0)} (std {w[0].std():.3f})",
        )
    ax.set_xlabel(f"weight value ({layer})")
    ax.set_ylabel("density")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig
