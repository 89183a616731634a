"""Functional-space figures: distance-vs-performance trajectories (Fig 2b), JS matrices (Fig 4a), MDS of networks
and the ensemble along training (Fig 4b)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.figure import Figure

from coterie.analysis.functional import js_matrix, trajectory_distances
from coterie.analysis.mds import Embedding, mds_embedding
from coterie.report._style import cmap, regime_color, regime_label
from coterie.report.rundata import RunData
from coterie.utils.figures import subplots


def distance_trajectories(runs: Sequence[RunData]) -> Figure:
    """Fig 2b: per epoch, d(n_1, n_2) (validation JS) against each network's KL(q‖p_i); light → dark with training.
    Uses the ``val_js_matrix`` / ``val_member_kl`` records of ``colearn`` runs."""
    fig, ax = subplots(figsize=(5.6, 4.0))
    for run in runs:
        hist = [r for r in run.history if "val_js_matrix" in r]
        if not hist:
            continue
        d = np.array([r["val_js_matrix"][0][1] for r in hist])
        kl = np.array([r["val_member_kl"] for r in hist])  # (T, N)
        t = np.linspace(0.25, 1.0, len(hist))
        base = regime_color(run.beta_bar or 0.0)
        for i in range(min(2, kl.shape[1])):
            ax.scatter(
                d,
                kl[:, i],
                c=[(*_rgb(base), a) for a in t],
                s=14,
                marker="o" if i == 0 else "^",
                label=f"{regime_label(run.beta_bar or 0.0)}, network {i + 1}",
            )
    ax.set_xlabel("d(n₁, n₂)  (mean JS on validation)")
    ax.set_ylabel("KL(q ‖ p_i)  (validation)")
    ax.set_title("training trajectories (light → dark)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _rgb(color: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(color)


def js_matrices(runs: Sequence[RunData]) -> Figure:
    """Fig 4a: d(n_i, n_j) between all members at the end of training, on the test split, one panel per run."""
    fig, axes = subplots(1, len(runs), figsize=(3.6 * len(runs), 3.3), squeeze=False)
    mats = []
    for run in runs:
        tl = run.test_logits()
        mats.append(js_matrix(tl[0]).numpy() if tl is not None else np.zeros((1, 1)))
    vmax = max(float(m.max()) for m in mats) or 1.0
    for ax, run, m in zip(axes[0], runs, mats):
        im = ax.imshow(m, cmap="magma", vmin=0, vmax=vmax)
        ax.set_title(
            f"{regime_label(run.beta_bar or 0.0)}\nmean d = {m[~np.eye(len(m), dtype=bool)].mean():.3f}"
            if len(m) > 1
            else regime_label(run.beta_bar or 0.0),
            fontsize=9,
        )
        ax.set_xlabel("network j")
        ax.set_ylabel("network i")
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="d (nats)")
    return fig


def mds_trajectory(run: RunData, seed: int = 0, max_points: int = 12) -> tuple[Figure, Embedding | None]:
    """Fig 4b: MDS embedding of every network and the ensemble at up to ``max_points`` epochs, from their pairwise
    JS distances on a fixed validation subset; crosses mark the start, colour intensity the progress of training.

    Returns the figure and the embedding (with the correlation between d and embedding distances)."""
    fig, ax = subplots(figsize=(4.8, 4.2))
    if run.trajectory is None:
        ax.text(0.5, 0.5, "no trajectory recorded", ha="center", va="center")
        return fig, None
    epochs, logits, _ = run.trajectory
    keep = np.unique(np.linspace(0, len(epochs) - 1, min(max_points, len(epochs))).round().astype(int))
    lt = torch.from_numpy(logits[keep])
    t, n = lt.shape[:2]
    d = trajectory_distances(lt).numpy()
    emb = mds_embedding(d, 2, seed=seed)
    pts = emb.points.reshape(t, n + 1, 2)
    cm = cmap("tab10")
    alphas = np.linspace(0.25, 1.0, t)
    for i in range(n + 1):
        color = "black" if i == n else cm(i % 10)
        ax.plot(pts[:, i, 0], pts[:, i, 1], "-", color=color, lw=0.6, alpha=0.5)
        ax.scatter(
            pts[:, i, 0],
            pts[:, i, 1],
            color=[(*_rgb_any(color), a) for a in alphas],
            s=28 if i == n else 14,
            zorder=3 if i == n else 2,
        )
        ax.scatter(pts[0, i, 0], pts[0, i, 1], marker="x", color=color, s=40, zorder=4)
    ax.set_title(f"{regime_label(run.beta_bar or 0.0)}, N = {n}\nr(d, embedding) = {emb.pearson_r:.2f}", fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    return fig, emb


def _rgb_any(color) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(color)
