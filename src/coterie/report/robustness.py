"""Figures of ``experiment: robustness`` (seed 002), written into its run directory.

``blackbox.png`` and ``whitebox.png`` (accuracy vs ε per attack, Figs 3–4), ``parl_ablation.png`` (PARL/K, Fig. 5)
and ``cka.png`` (layer-wise linear CKA between members, Fig. 2), drawn from the summarised results under the
primary scoring rule.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from coterie.utils.figures import subplots
from coterie.utils.rundir import RunDir


def plot_curves(res: dict[str, Any], mode: str, labels: list[str], title: str) -> Figure:
    """Accuracy vs ε, one panel per attack (seed 002 Figs 3–5); bands are ± one sample std over repeats."""
    attacks = list(res["curves"][mode])
    eps = res["eps"] if mode == "blackbox" else res["whitebox_eps"]
    fig, axes = subplots(1, len(attacks), figsize=(3.6 * len(attacks), 3.2), squeeze=False)
    for ax, a in zip(axes[0], attacks):
        for k in labels:
            c = res["curves"][mode][a][k]
            m, s = np.asarray(c["mean"]) * 100, np.asarray(c["std"]) * 100
            ax.plot(eps, m, marker="o", ms=3, label=k)
            if s.any():
                ax.fill_between(eps, m - s, m + s, alpha=0.15)
        ax.set_title(a.upper())
        ax.set_xlabel("ε")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"ensemble accuracy (%, {res.get('rule', 'vote')})")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_cka(res: dict[str, Any], labels: list[str]) -> Figure:
    """Layer-wise linear CKA of each member pair (seed 002 Fig. 2); the legend gives the overall mean."""
    layers = res["cka_layers"]
    fig, axes = subplots(1, len(labels), figsize=(4.2 * len(labels), 3.2), squeeze=False, sharey=True)
    for ax, k in zip(axes[0], labels):
        pairs = np.asarray(res["cka_per_layer_pairs"][k]["mean"])  # (L, P)
        n = round((1 + math.sqrt(1 + 8 * pairs.shape[1])) / 2)
        names = [f"M{i + 1}–M{j + 1}" for i in range(n) for j in range(i + 1, n)]
        for p in range(pairs.shape[1]):
            ax.plot(range(len(layers)), pairs[:, p], marker="o", ms=3, label=f"{names[p]} ({pairs[:, p].mean():.3f})")
        ax.set_xticks(range(len(layers)))
        ax.set_xticklabels(layers, rotation=60, fontsize=7)
        ax.set_title(f"{k} (mean {res['cka_mean'][k]['mean']:.3f})", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("linear CKA")
    fig.tight_layout()
    return fig


def save_figures(rundir: RunDir, res: dict[str, Any], cfg: Any) -> None:
    """Write the run's figures: black-box and white-box curves of the configured methods, the PARL/K ablation and
    the CKA profiles of the unprotected and PARL ensembles."""
    main = [m.label for m in cfg.methods]
    note = f"surrogate: {cfg.members} members, independent; {cfg.repeats} repeat(s)"
    rundir.save_figure(plot_curves(res, "blackbox", main, f"black-box transfer ({note})"), "blackbox.png")
    if cfg.attack.whitebox:
        rundir.save_figure(plot_curves(res, "whitebox", main, "white-box"), "whitebox.png")
    if cfg.parl_ablation:
        k_main = next(m for m in cfg.methods if m.label == cfg.parl_label).objective.params.get("layers", 7)
        abl = [cfg.baseline_label, cfg.parl_label] + [f"{cfg.parl_label}/{k}" for k in cfg.parl_ablation]
        abl = [k for k in abl if k in res["methods"]]
        title = f"PARL ablation (black-box; {cfg.parl_label} = PARL/{k_main})"
        rundir.save_figure(plot_curves(res, "blackbox", abl, title), "parl_ablation.png")
    if "cka_mean" in res:
        shown = [k for k in (cfg.baseline_label, cfg.parl_label) if k in res["methods"]] or res["methods"][:2]
        rundir.save_figure(plot_cka(res, shown), "cka.png")
