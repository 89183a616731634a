"""Per-sample agreement figures (seed 000 Fig 5a–c, Fig S5), on the test split."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from coterie.analysis.agreement import confidence_vs_voters, entropy_histograms, true_class_probabilities
from coterie.report._style import regime_color, regime_label
from coterie.report.rundata import RunData
from coterie.utils.figures import subplots


def p1_p2_scatter(runs: Sequence[RunData], max_points: int = 1500) -> Figure:
    """Fig 5a (projected): p_1(y|x) vs p_2(y|x) per test sample, colour = ensemble correct (blue) or not (red),
    marker size ∝ p_ens(y|x)."""
    fig, axes = subplots(1, len(runs), figsize=(3.6 * len(runs), 3.5), squeeze=False)
    for ax, run in zip(axes[0], runs):
        tl = run.test_logits()
        if tl is None:
            continue
        logits, y = tl
        pm, pe = true_class_probabilities(logits, y)
        correct = (logits.softmax(-1).mean(0).argmax(-1) == y).numpy()
        k = min(max_points, pm.shape[1])
        ax.scatter(
            pm[0, :k],
            pm[1, :k],
            s=4 + 16 * pe[:k].numpy(),
            c=np.where(correct[:k], "tab:blue", "tab:red"),
            alpha=0.5,
            lw=0,
        )
        ax.set_xlabel("p₁(y_true|x)")
        ax.set_ylabel("p₂(y_true|x)")
        ax.set_title(regime_label(run.beta_bar or 0.0), fontsize=9)
        ax.set_xlim(-0.02, 1.02)
        ax.set_ylim(-0.02, 1.02)
    fig.tight_layout()
    return fig


def entropy_histogram(runs: Sequence[RunData], bins: int = 20, all_members: bool = False) -> Figure:
    """Fig 5b (one member per run) or Fig S5 (``all_members``: one line per member, one panel per run)."""
    if all_members:
        fig, axes = subplots(1, len(runs), figsize=(3.8 * len(runs), 3.2), squeeze=False, sharey=True)
        for ax, run in zip(axes[0], runs):
            tl = run.test_logits()
            if tl is None:
                continue
            counts, edges = entropy_histograms(tl[0], bins)
            centers = 0.5 * (edges[1:] + edges[:-1])
            for i, c in enumerate(counts):
                ax.plot(centers, c, lw=1, label=f"n{i + 1}" if i < 10 else None)
            ax.set_title(regime_label(run.beta_bar or 0.0), fontsize=9)
            ax.set_xlabel("H[p_i(y|x)] (nats)")
        axes[0][0].set_ylabel("fraction of samples")
        fig.tight_layout()
        return fig
    fig, ax = subplots(figsize=(5.0, 3.4))
    for run in runs:
        tl = run.test_logits()
        if tl is None:
            continue
        counts, edges = entropy_histograms(tl[0][:1], bins)
        ax.stairs(
            counts[0], edges, color=regime_color(run.beta_bar or 0.0), lw=1.6, label=regime_label(run.beta_bar or 0.0)
        )
    ax.set_xlabel("H[p₁(y|x)] (nats, test)")
    ax.set_ylabel("fraction of samples")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def confidence_voters(runs: Sequence[RunData], seed: int = 0) -> Figure:
    """Fig 5c: p_ens(y_true|x) vs the number of members voting correctly, with the Spearman correlation."""
    fig, axes = subplots(1, len(runs), figsize=(3.8 * len(runs), 3.4), squeeze=False, sharey=True)
    rng = np.random.default_rng(seed)
    for ax, run in zip(axes[0], runs):
        tl = run.test_logits()
        if tl is None:
            continue
        vc = confidence_vs_voters(*tl)
        jitter = rng.uniform(-0.18, 0.18, len(vc.voters)) + np.where(vc.ensemble_correct, 0.1, -0.1)
        ax.scatter(
            vc.voters + jitter,
            vc.confidence,
            s=3,
            alpha=0.4,
            lw=0,
            c=np.where(vc.ensemble_correct, "tab:blue", "tab:red"),
        )
        ax.set_title(f"{regime_label(run.beta_bar or 0.0)}\nSpearman r = {vc.spearman_r:.3f}", fontsize=9)
        ax.set_xlabel("members voting for y_true")
    axes[0][0].set_ylabel("p_ens(y_true|x)")
    fig.tight_layout()
    return fig
