"""Difference-from-independent heatmap and optimal-coupling scaling (seed 000 Fig 3b, Fig 3c)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from coterie.analysis.scaling import PowerLawFit, difference_from_independent
from coterie.utils.figures import subplots


def difference_heatmap(df: pd.DataFrame, metric: str = "test.ens_acc_mean") -> Figure:
    """Fig 3b: mean (coupled − independent) ensemble accuracy, paired by seed, per (N, β̄), in percentage points."""
    piv = difference_from_independent(df, metric) * 100
    fig, ax = subplots(figsize=(6.0, 2.2 + 0.35 * max(1, len(piv))))
    if piv.empty:
        ax.text(0.5, 0.5, "no independent (β̄ = 0) runs to compare with", ha="center", va="center")
        return fig
    lim = float(np.nanmax(np.abs(piv.to_numpy()))) or 1.0
    im = ax.imshow(piv.to_numpy(), cmap="RdBu", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(piv.shape[1]), [f"{c:+g}" for c in piv.columns])
    ax.set_yticks(range(piv.shape[0]), [str(i) for i in piv.index])
    for (i, j), v in np.ndenumerate(piv.to_numpy()):
        if np.isfinite(v):
            ax.text(j, i, f"{v:+.1f}", ha="center", va="center", fontsize=7)
    ax.set_xlabel("β̄")
    ax.set_ylabel("N")
    ax.set_title("ensemble accuracy − independent (pp, test)")
    fig.colorbar(im, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def optimal_scaling(opt: pd.DataFrame, fit: PowerLawFit | None) -> Figure:
    """Fig 3c: the optimal β (chosen on validation) vs N with the fitted power law; inset: log-log axes."""
    fig, (ax, ax2) = subplots(1, 2, figsize=(8.4, 3.4))
    n = opt["N"].to_numpy(dtype=float)
    ax.plot(n, opt["beta_opt"], "o", color="tab:red", label="optimal β (validation)")
    if fit is not None:
        grid = np.linspace(n.min(), n.max(), 100)
        sign = -1.0 if (opt["beta_opt"] < 0).sum() >= (opt["beta_opt"] > 0).sum() else 1.0
        ax.plot(
            grid,
            sign * fit.predict(grid),
            "-",
            color="black",
            lw=1,
            label=f"|β| = {np.exp(fit.intercept):.2f}·N^{fit.slope:.2f}",
        )
    ax.set_xlabel("N")
    ax.set_ylabel("β*")
    ax.legend(fontsize=8)
    ok = opt["beta_opt"].abs() > 0
    ax2.loglog(n[ok], opt["beta_opt"].abs()[ok], "o", color="tab:red")
    if fit is not None:
        grid = np.linspace(n.min(), n.max(), 100)
        ax2.loglog(grid, fit.predict(grid), "-", color="black", lw=1)
        ax2.set_title(f"log|β*| = {fit.slope:.2f}±{fit.slope_stderr:.2f}·log N {fit.intercept:+.2f}", fontsize=9)
    ax2.set_xlabel("N")
    ax2.set_ylabel("|β*|")
    fig.tight_layout()
    return fig
