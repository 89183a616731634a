"""Figures of seed 004: activation evolution (Fig 3 centre), per-arm box plots (Figs 3–7), accuracy versus
participation-ratio density (Fig 8), Hessian eigenvalue densities, orbits and rollout energy drift.

Every function returns a matplotlib ``Figure`` (save it with ``RunDir.save_figure``); none calls ``plt.show``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor

from coterie.utils.figures import subplots

ARM_COLORS = {
    "type1": "#f2c500",
    "type2": "#f28e2b",
    "mix": "#d62728",
    "relu": "#1f77b4",
    "tanh": "#17becf",
    "sin": "#2ca02c",
}


def _color(arm: str, i: int) -> str:
    return ARM_COLORS.get(arm, f"C{i % 10}")


def activation_evolution(
    grid: Tensor, snapshots: Sequence[tuple[int, Mapping[str, Tensor]]], title: str = ""
) -> Figure:
    """One panel per learned activation: its curve at each snapshot, violet (start) to red (end)."""
    names = list(snapshots[0][1])
    fig, axes = subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    cmap = matplotlib.colormaps["rainbow"]
    steps = [s for s, _ in snapshots]
    top = max(steps) or 1
    g = np.asarray(grid)
    for ax, name in zip(axes[0], names):
        for step, curves in snapshots:
            ax.plot(g, np.asarray(curves[name]), color=cmap(step / top), lw=1.2)
        ax.set_title(name.replace("types.", "type ").replace("body.", ""), fontsize=9)
        ax.set_xlabel("a")
        ax.set_ylabel("σ(a)")
    sm = matplotlib.cm.ScalarMappable(cmap=cmap, norm=matplotlib.colors.Normalize(0, top))
    fig.colorbar(sm, ax=axes[0].tolist(), label="outer step")
    if title:
        fig.suptitle(title)
    return fig


def arm_boxplot(values: Mapping[str, Sequence[float]], ylabel: str, title: str = "", log: bool = False) -> Figure:
    """Box-and-whisker plot of one value per seed for each arm (type1, type2, mix, baselines)."""
    arms = list(values)
    fig, ax = subplots(figsize=(1.1 * len(arms) + 2, 3.6))
    data = [np.asarray(values[a], dtype=float) for a in arms]
    bp = ax.boxplot(data, patch_artist=True, showmeans=True)
    ax.set_xticks(range(1, len(arms) + 1), arms)
    for i, (patch, arm) in enumerate(zip(bp["boxes"], arms)):
        patch.set_facecolor(_color(arm, i))
        patch.set_alpha(0.7)
    for i, d in enumerate(data):
        ax.scatter(np.full(d.size, i + 1) + np.linspace(-0.12, 0.12, d.size), d, s=6, color="k", alpha=0.5, zorder=3)
    if log:
        ax.set_yscale("log")
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel} over {len(data[0])} seeds")
    return fig


def metric_vs_participation(
    metric: Mapping[str, Sequence[float]], ratio: Mapping[str, Sequence[float]], ylabel: str, title: str = ""
) -> Figure:
    """Joint densities ρ(A, r) per arm (Fig 8): points plus Gaussian-KDE contours where there is spread."""
    from scipy.stats import gaussian_kde

    fig, ax = subplots(figsize=(5.4, 4.2))
    for i, arm in enumerate(metric):
        a = np.asarray(metric[arm], dtype=float)
        r = np.asarray(ratio[arm], dtype=float)
        ok = np.isfinite(a) & np.isfinite(r)
        a, r = a[ok], r[ok]
        c = _color(arm, i)
        ax.scatter(r, a, s=12, color=c, label=arm, alpha=0.8)
        if a.size >= 5 and np.std(a) > 0 and np.std(r) > 0:
            try:
                kde = gaussian_kde(np.vstack([r, a]))
                rr, aa = np.meshgrid(
                    np.linspace(r.min() - r.std(), r.max() + r.std(), 60),
                    np.linspace(a.min() - a.std(), a.max() + a.std(), 60),
                )
                z = kde(np.vstack([rr.ravel(), aa.ravel()])).reshape(rr.shape)
                ax.contour(rr, aa, z, levels=3, colors=[c], linewidths=0.8, alpha=0.7)
            except np.linalg.LinAlgError:
                pass
    ax.set_xlabel("normalised participation ratio r = R/N")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig


def spectral_densities(densities: Mapping[str, object], title: str = "") -> Figure:
    """Hessian eigenvalue densities (SLQ, Gaussian-smoothed) per arm on a shared symmetric-log axis."""
    fig, ax = subplots(figsize=(5.8, 3.8))
    lo = min(d.eig_range[0] for d in densities.values())  # type: ignore[attr-defined]
    hi = max(d.eig_range[1] for d in densities.values())  # type: ignore[attr-defined]
    pad = 0.05 * (hi - lo + 1e-12)
    grid = np.linspace(lo - pad, hi + pad, 2000)
    for i, (arm, d) in enumerate(densities.items()):
        ax.plot(grid, d.density(grid, sigma=0.01 * (hi - lo + 1e-12)) + 1e-8, color=_color(arm, i), label=arm)  # type: ignore[attr-defined]
    ax.set_yscale("log")
    ax.set_xlabel("Hessian eigenvalue λ")
    ax.set_ylabel("density")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig


def orbits(states: Sequence[np.ndarray], labels: Sequence[str], axes_names: tuple[str, str], title: str = "") -> Figure:
    """Phase or position-space orbits, time coded violet to red along each."""
    n = len(states)
    fig, axes = subplots(1, n, figsize=(3.3 * n, 3.2), squeeze=False)
    cmap = matplotlib.colormaps["rainbow"]
    for ax, s, lab in zip(axes[0], states, labels):
        s = np.asarray(s)
        ax.scatter(s[:, 0], s[:, 1], c=np.linspace(0, 1, len(s)), cmap=cmap, s=2)
        ax.set_title(lab, fontsize=9)
        ax.set_xlabel(axes_names[0])
        ax.set_ylabel(axes_names[1])
    if title:
        fig.suptitle(title)
    return fig


def energy_drift(series: Mapping[str, np.ndarray], dt: float, ylabel: str = "H(t) − H(0)", title: str = "") -> Figure:
    """Energy error along rollouts, one line per (model, integrator)."""
    fig, ax = subplots(figsize=(5.6, 3.6))
    for name, e in series.items():
        e = np.asarray(e)
        ax.plot(np.arange(e.size) * dt, e - e[0], label=name, lw=1.2)
    ax.set_xlabel("t")
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.set_title(title)
    return fig
