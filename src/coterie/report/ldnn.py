"""Figures of ``experiment: ldnn`` (seed 004), written into its run directory.

The figure primitives live in :mod:`coterie.neurons.plots`; this module decides which figures a run gets and their
file names: ``<task>-<kind>-activation-evolution.png``, ``-meta-curve.png`` (inner and validation loss per outer
step), ``-boxplot.png``, ``-participation.png``, ``-hessian-esd.png``, ``-rollout-energy.png`` and
``<task>-orbits.png``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from matplotlib.figure import Figure
from torch import Tensor

from coterie.neurons import plots
from coterie.utils.figures import subplots
from coterie.utils.rundir import RunDir


def meta_curve(history: Sequence[Mapping[str, float]], title: str = "") -> Figure:
    """Mean inner loss L_I and (when recorded) the meta-network's validation loss per outer step, log scale."""
    fig, ax = subplots(figsize=(6, 3.6))
    steps = [h["outer_step"] for h in history]
    ax.plot(steps, [h["inner_loss"] for h in history], lw=1.2, label="mean inner loss L_I")
    if history and "val_loss" in history[0]:
        ax.plot(steps, [h["val_loss"] for h in history], lw=1.8, label="validation loss")
    ax.set_xlabel("outer step")
    ax.set_ylabel("loss")
    ax.set_yscale("log")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def save_meta_figures(rundir: RunDir, tag: str, grid: Tensor, meta: Any) -> None:
    """Activation evolution and the meta-learning curve of one model kind (``meta``: a ``MetaResult``)."""
    rundir.save_figure(
        plots.activation_evolution(grid, meta.snapshots, f"{tag}: learned activations (violet → red: outer steps)"),
        f"{tag}-activation-evolution.png",
    )
    rundir.save_figure(meta_curve(meta.history, f"{tag}: meta-learning ({meta.stopped})"), f"{tag}-meta-curve.png")


def save_arm_figures(
    rundir: RunDir,
    tag: str,
    metric: Mapping[str, Sequence[float]],
    ratio: Mapping[str, Sequence[float]],
    densities: Mapping[str, Any],
    metric_name: str,
    higher_is_better: bool,
) -> None:
    """Box plot of the validation metric per arm, metric against participation ratio, Hessian spectra."""
    seeds = max((len(v) for v in metric.values()), default=0)
    rundir.save_figure(
        plots.arm_boxplot(
            metric,
            f"validation {metric_name}",
            f"{tag}: validation {metric_name} over {seeds} seeds",
            log=not higher_is_better,
        ),
        f"{tag}-boxplot.png",
    )
    rundir.save_figure(
        plots.metric_vs_participation(metric, ratio, f"validation {metric_name}", f"{tag}: ρ({metric_name}, r)"),
        f"{tag}-participation.png",
    )
    if densities:
        rundir.save_figure(
            plots.spectral_densities(densities, f"{tag}: Hessian eigenvalue density (SLQ, seed 0)"),
            f"{tag}-hessian-esd.png",
        )


def save_rollout_energy(rundir: RunDir, tag: str, series: Mapping[str, np.ndarray], dt: float) -> None:
    """Energy along the Euler and leapfrog rollouts of the trained mixed network."""
    if series:
        rundir.save_figure(
            plots.energy_drift(series, dt, title=f"{tag} (mix): energy along rollouts"), f"{tag}-rollout-energy.png"
        )


def save_orbits(rundir: RunDir, task: str, traj: Any) -> None:
    """Phase portraits of the simulated orbits (van der Pol: one; Hénon–Heiles: one per energy)."""
    if task == "vanderpol":
        fig = plots.orbits([traj.orbit(0).numpy()], ["van der Pol μ = 2.7"], ("q", "q̇"))
    else:
        ks = [int(torch.nonzero(traj.energy == e)[0]) for e in sorted(set(traj.energy.tolist()))]
        fig = plots.orbits(
            [traj.orbit(k).numpy()[:, :2] for k in ks], [f"E = {float(traj.energy[k]):.3g}" for k in ks], ("x", "y")
        )
    rundir.save_figure(fig, f"{task}-orbits.png")
