"""Figures of ``experiment: codeepnet`` (seed 001), written into its run directory: ``ga_history.png`` (best, mean
and best-so-far validation MAE per generation), ``ga_pareto.png`` (validation MAE against parameters of every
evaluated chromosome, the Pareto front joined), ``validation_curves.png`` (first repeat of each network) and
``test_predictions.png`` (predicted against true age, one panel per model)."""

from __future__ import annotations

from typing import Any

import numpy as np

from coterie.utils.figures import subplots
from coterie.utils.rundir import RunDir


def _ga_history(rundir: RunDir, history: list[dict[str, Any]]) -> None:
    fig, ax = subplots(figsize=(5, 3.5))
    gens = [r["generation"] for r in history]
    ax.plot(gens, [r["best_fitness"] for r in history], "o-", label="best of generation")
    ax.plot(gens, [r["mean_fitness"] for r in history], "s--", label="population mean")
    ax.plot(gens, [r["best_overall_fitness"] for r in history], ":", label="best so far")
    ax.set_xlabel("generation")
    ax.set_ylabel("validation MAE (years)")
    ax.set_title("Co-DeepNet genetic architecture search")
    ax.legend()
    rundir.save_figure(fig, "ga_history.png")


def _pareto(rundir: RunDir, evaluated: list[dict[str, Any]], front: list[str]) -> None:
    fig, ax = subplots(figsize=(5, 3.5))
    pts = [r for r in evaluated if np.isfinite(r["val_mae"])]
    ax.scatter([r["parameters"] for r in pts], [r["val_mae"] for r in pts], s=12, alpha=0.6, label="evaluated")
    on = sorted((r for r in pts if r["key"] in set(front)), key=lambda r: r["parameters"])
    ax.plot([r["parameters"] for r in on], [r["val_mae"] for r in on], "o-", color="C3", label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("pair parameters")
    ax.set_ylabel("validation MAE (years)")
    ax.legend()
    rundir.save_figure(fig, "ga_pareto.png")


def _validation_curves(rundir: RunDir, curves: dict[str, list[float]]) -> None:
    fig, ax = subplots(figsize=(5, 3.5))
    for name, c in curves.items():
        ax.plot(range(1, len(c) + 1), c, label=name)
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation MAE (years)")
    ax.set_yscale("log")
    ax.legend()
    rundir.save_figure(fig, "validation_curves.png")


def _test_predictions(rundir: RunDir, preds: dict[str, np.ndarray], ages: np.ndarray) -> None:
    n = len(preds)
    cols = min(n, 3)
    rows = (n + cols - 1) // cols
    fig, axes = subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    lim = [0.0, float(max(ages.max(), max(p.max() for p in preds.values()))) + 2]
    for ax, (name, p) in zip(axes.flat, preds.items()):
        ax.scatter(ages, p, s=6, alpha=0.6)
        ax.plot(lim, lim, "k--", lw=0.8)
        ax.set_title(f"{name}: MAE {np.mean(np.abs(p - ages)):.2f}")
        ax.set_xlabel("age")
        ax.set_ylabel("predicted")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    fig.tight_layout()
    rundir.save_figure(fig, "test_predictions.png")


def codeepnet_figures(
    rundir: RunDir,
    search: dict[str, Any],
    curves: dict[str, list[float]],
    preds: dict[str, np.ndarray],
    ages: np.ndarray,
) -> None:
    """Write the figures that have data: the search history (when the search ran), validation curves (n_epochs,)
    per model, and test predictions (n_test,) per model against the true ``ages`` (n_test,)."""
    if search.get("history"):
        _ga_history(rundir, search["history"])
    if search.get("evaluated"):
        _pareto(rundir, search["evaluated"], search.get("pareto_front", []))
    if curves:
        _validation_curves(rundir, curves)
    if preds:
        _test_predictions(rundir, preds, ages)
