"""The report of a co-learning sweep (seed 000): accuracy vs coupling, optimal coupling and its scaling, the
significance of the gain, functional and structural analyses of representative runs, combination rules."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coterie.analysis.combination import combination_table
from coterie.analysis.scaling import loglog_fit, optimal_coupling
from coterie.analysis.significance import wilcoxon_table
from coterie.analysis.structure import confidence_table, structure_table
from coterie.report import agreement, funnels, scaling, structure
from coterie.report import functional as ffig
from coterie.report.html import Page, ReportError
from coterie.report.rundata import RunData, load_run
from coterie.sweep.frame import load_sweep_frame
from coterie.sweep.store import DB_NAME, ResultStore

log = logging.getLogger(__name__)

SUMMARY_COLUMNS = [
    "name",
    "seed",
    "N",
    "beta_bar",
    "beta",
    "diverged",
    "val.ens_acc_mean",
    "val.member_acc_mean",
    "test.ens_acc_mean",
    "test.ens_acc_geometric",
    "test.ens_acc_vote",
    "test.member_acc_mean",
    "test.nll",
    "test.ece",
    "test.mean_js",
    "analysis.test.member_entropy_mean",
    "analysis.test.voters_spearman_r",
    "wall_seconds",
    "run_dir",
]


def representative_betas(df: pd.DataFrame, n: int, opt: pd.DataFrame) -> list[float]:
    """Negative / independent / positive coupling values to show for size ``n``: the validation-optimal β̄ when it
    is negative (else the weakest negative β̄), 0, and the smallest positive β̄ at least as strong as the negative one
    (else the strongest positive)."""
    betas = sorted(df[df["N"] == n]["beta_bar"].dropna().unique())
    row = opt[opt["N"] == n]
    negs = [b for b in betas if b < 0]
    poss = [b for b in betas if b > 0]
    out = []
    if negs:
        best = float(row["beta_bar_opt"].iloc[0]) if len(row) else 0.0
        out.append(best if best < 0 else max(negs))
    if 0.0 in betas:
        out.append(0.0)
    if poss:
        strong = [b for b in poss if b >= abs(out[0])] if negs else []
        out.append(min(strong) if strong else max(poss))
    return out


def weighted_layer_names(weights: dict[str, Any]) -> list[str]:
    """Member 0's convolution / linear layers in the checkpoint's key order, from ``{"members.<i>.<layer>.weight":
    tensor}``: the full (possibly dotted) layer name, and only weights of rank ≥ 2 (BatchNorm scales are 1-D, not
    synapses), so that Fig 6c's "second convolutional layer" is ``conv2`` for VGG-9 too, not ``bn1``."""
    prefix, suffix = "members.0.", ".weight"
    return [
        k[len(prefix) : -len(suffix)]
        for k, v in weights.items()
        if k.startswith(prefix) and k.endswith(suffix) and getattr(v, "ndim", 0) >= 2
    ]


def _load(df: pd.DataFrame, root: Path, n: int, beta_bars: list[float], seed: int) -> list[RunData]:
    runs = []
    for bb in beta_bars:
        sel = df[(df["N"] == n) & (df["beta_bar"] == bb) & (df["seed"] == seed)]
        if len(sel):
            runs.append(load_run(root / sel["run_dir"].iloc[0]))
    return runs


def build_sweep_report(d: Path) -> tuple[Page, pd.DataFrame]:
    """Assemble the sweep report page and the summary table (one row per finished run)."""
    store = ResultStore(d / DB_NAME)
    meta = store.read_meta()
    df = load_sweep_frame(d)
    counts = store.counts()
    page = Page(f"coterie sweep report — {meta.get('sweep_name')}", d)
    page.p(
        f"Sweep directory {d}; {counts.get('finished', 0)} finished runs, {counts.get('failed', 0)} failed, "
        f"{counts.get('running', 0)} running. All figures are computed on held-out data: the optimal coupling "
        "is chosen on the validation split, accuracies and analyses are reported on the test split."
    )
    if df.empty:
        page.p("No finished runs yet.")
        return page, df
    if "diverged" not in df.columns:
        df["diverged"] = 0.0
    df["diverged"] = df["diverged"].fillna(0.0).astype(bool)
    summary = df[[c for c in SUMMARY_COLUMNS if c in df.columns]]
    # runs without a scalar coupling (another objective, a β matrix) have no beta_bar column at all
    summary = summary.sort_values([c for c in ("N", "beta_bar", "seed", "name") if c in summary.columns])
    has_coupling = "beta_bar" in df.columns and df["beta_bar"].notna().any()
    if not has_coupling:
        page.h2("Runs")
        page.table(summary, "finished runs")
        _config(page, d)
        return page, summary
    df = df[df["beta_bar"].notna()].copy()
    opt = _headline(page, df)
    _combination_rules(page, df)
    small = _representative_runs(page, df, d, opt)
    _structure(page, df, small)

    page.h2("All finished runs")
    page.table(summary, "summary.csv")
    _config(page, d)
    return page, summary


def _headline(page: Page, df: pd.DataFrame) -> pd.DataFrame:
    """Optimal coupling per N with its Wilcoxon test and log-log fit, divergences, and accuracy against coupling
    (Fig 2c, Fig 3). Returns the optimal-coupling table (with the test's columns when β̄ = 0 runs exist)."""
    page.h2("Optimal coupling per ensemble size (chosen on validation, reported on test)")
    opt = optimal_coupling(df)
    wt = wilcoxon_table(df) if (df["beta_bar"] == 0).any() else pd.DataFrame()
    if not wt.empty:
        opt = opt.merge(
            wt.rename(columns={"beta_bar": "beta_bar_opt"})[
                ["N", "beta_bar_opt", "t_plus", "t_minus", "p", "p_bonferroni"]
            ],
            on=["N", "beta_bar_opt"],
            how="left",
        )
    page.table(
        opt,
        "β̄* = argmax of the seed-mean validation ensemble accuracy; gain = test accuracy at β̄* minus "
        "the independent ensemble's (β̄ = 0), paired by seed; Wilcoxon signed-rank across seeds",
    )
    fit = None
    try:
        fit = loglog_fit(opt["N"].to_numpy(), opt["beta_opt"].to_numpy())
        page.p(
            f"log-log fit of |β*| against N: slope {fit.slope:.2f} ± {fit.slope_stderr:.2f} (paper: −0.99 ± "
            f"0.18), intercept {fit.intercept:.2f}, from {fit.n_points} sizes."
        )
    except ValueError as e:
        page.p(f"No log-log fit: {e}.")
    ndiv = int(df["diverged"].sum())
    if ndiv:
        by = df[df["diverged"]].groupby(["N", "beta_bar"]).size().reset_index(name="diverged runs")
        page.p(
            f"{ndiv} runs diverged (non-finite loss under strong negative coupling); they are evaluated at their "
            "last epoch whose weights and outputs were finite, and included as such."
        )
        page.table(by, "diverged runs per (N, β̄)")
    _accuracy_vs_coupling(page, df, opt, fit, wt)
    return opt


def _accuracy_vs_coupling(page: Page, df: pd.DataFrame, opt: pd.DataFrame, fit: Any, wt: pd.DataFrame) -> None:
    """Fig 2c per N, Fig 3a-d, the accuracy table per (N, β̄) and the Wilcoxon tests."""
    page.h2("Accuracy vs coupling (Fig 2c, Fig 3)")
    for n in sorted(df["N"].unique()):
        page.try_figure(
            lambda n=n: funnels.members_and_ensemble_funnel(df, int(n)),
            f"Fig 2c: two networks and the ensemble vs β̄, N = {n}; funnels: std over seeds",
            f"fig2c_N{n}",
        )
    page.try_figure(lambda: funnels.ensemble_vs_coupling(df, x="beta"), "Fig 3a: ensemble accuracy vs β per N", "fig3a")
    page.try_figure(lambda: scaling.difference_heatmap(df), "Fig 3b: coupled − independent (pp)", "fig3b")
    page.try_figure(lambda: scaling.optimal_scaling(opt, fit), "Fig 3c: optimal β vs N and log-log fit", "fig3c")
    page.try_figure(
        lambda: funnels.ensemble_vs_coupling(df, x="beta_bar"), "Fig 3d: ensemble accuracy vs β̄ = β·N", "fig3d"
    )
    page.h3("Ensemble accuracy by (N, β̄), test split")
    acc = (
        df.groupby(["N", "beta_bar"])
        .agg(
            val_ens_mean=("val.ens_acc_mean", "mean"),
            test_ens_mean=("test.ens_acc_mean", "mean"),
            test_ens_std=("test.ens_acc_mean", "std"),
            test_member_mean=("test.member_acc_mean", "mean"),
            seeds=("seed", "count"),
        )
        .reset_index()
    )
    page.table(acc, "mean (std) over seeds")
    if not wt.empty:
        page.h3("Wilcoxon signed-rank tests against independent ensembles (test accuracy, paired by seed)")
        page.table(wt, "p_bonferroni = p × number of coupled β̄ per N")


def _combination_rules(page: Page, df: pd.DataFrame) -> None:
    """Fig S3 and the ensemble test accuracy per combination rule."""
    page.h2("Combination rules (Fig S3)")
    page.try_figure(lambda: funnels.combination_rules(df), "Fig S3: mean, geometric mean and majority vote", "figS3")
    ct = combination_table(df)
    if not ct.empty:
        page.table(
            ct.pivot_table(index=["N", "beta_bar"], columns="rule", values="mean").reset_index(),
            "ensemble test accuracy per rule (seed mean)",
        )


def _representative_runs(page: Page, df: pd.DataFrame, d: Path, opt: pd.DataFrame) -> list[RunData]:
    """Learning dynamics (Fig 2a, 2b, 6a) of the smallest N, functional dissimilarity (Fig 4) of the largest, and
    specialisation (Fig 5, S5), on the first seed's representative couplings. Returns the smallest N's runs."""
    sizes = sorted(df["N"].unique())
    seed = int(sorted(df["seed"].unique())[0])
    n_small, n_large = int(min(sizes)), int(max(sizes))
    small = _load(df, d, n_small, representative_betas(df, n_small, opt), seed)
    large = _load(df, d, n_large, representative_betas(df, n_large, opt), seed)
    page.h2(f"Learning dynamics, N = {n_small}, seed {seed} (Fig 2a, 2b, 6a)")
    for run in small:
        lc = run.path / "learning_curves.png"
        if lc.exists():
            page.figure(
                lc.read_bytes(),
                f"Fig 2a: learning curves (validation), β̄ = {run.beta_bar:+g}",
                f"fig2a_{run.beta_bar:+g}",
            )
    page.try_figure(lambda: ffig.distance_trajectories(small), "Fig 2b: d(n1, n2) vs KL(q‖p_i) along training", "fig2b")
    page.try_figure(
        lambda: structure.sparsity_during_training(small), "Fig 6a: inactive units during training", "fig6a"
    )
    page.h2(f"Functional dissimilarity, N = {n_large}, seed {seed} (Fig 4)")
    page.try_figure(lambda: ffig.js_matrices(large), "Fig 4a: d(n_i, n_j) at the end of training (test)", "fig4a")
    page.table(pd.DataFrame(_mds_figures(page, large)), "correlation between d and MDS embedding distances")
    page.h2("Specialisation and confidence (Fig 5, Fig S5)")
    page.try_figure(
        lambda: agreement.p1_p2_scatter(small), f"Fig 5a: p1 vs p2 of the true class, N = {n_small}", "fig5a"
    )
    page.try_figure(lambda: agreement.entropy_histogram(small), f"Fig 5b: entropy of network 1, N = {n_small}", "fig5b")
    page.try_figure(
        lambda: agreement.confidence_voters(large), f"Fig 5c: confidence vs correct voters, N = {n_large}", "fig5c"
    )
    page.try_figure(
        lambda: agreement.entropy_histogram(large, all_members=True),
        f"Fig S5: entropy of every network, N = {n_large}",
        "figS5",
    )
    page.table(
        confidence_table(df),
        "seed means: member entropy (nats), fraction of samples with member entropy "
        "< 0.1, wall fraction, Fig 5c Spearman r, samples rescued by the ensemble, "
        "mean JS",
    )
    return small


def _mds_figures(page: Page, runs: list[RunData]) -> list[dict[str, float]]:
    """Fig 4b per run, and per run with an embedding its correlation between d and the embedding's distances.

    As :meth:`Page.try_figure`, a failed figure becomes a visible note."""
    rows = []
    for run in runs:
        caption = f"Fig 4b: MDS of networks (colours) and ensemble (black) along training, β̄ = {run.beta_bar:+g}"
        name = f"fig4b_{run.beta_bar:+g}"
        try:
            fig, emb = ffig.mds_trajectory(run)
            if emb is not None:
                rows.append(
                    {"beta_bar": run.beta_bar, "pearson_r": emb.pearson_r, "p": emb.pearson_p, "stress": emb.stress}
                )
            page.figure(fig, caption, name)
        except Exception as e:
            log.warning("figure %s skipped: %s", name, e)
            page.p(f"(figure “{caption}” unavailable: {e})")
    return rows


def _structure(page: Page, df: pd.DataFrame, small: list[RunData]) -> None:
    """Activity and weight statistics per layer of the smallest N (Fig 6b, 6c, Tables S3, S4)."""
    n_small = int(min(df["N"].unique()))
    page.h2(f"Structure: activity and weights, N = {n_small} (Fig 6b, 6c, Tables S3, S4)")
    for stat, label in (
        ("inactive_fraction", "fraction of inactive units"),
        ("mean_activation", "mean activation"),
        ("mean_active_activation", "mean activation of active units"),
        ("weight_std", "weight standard deviation"),
    ):
        tab = structure_table(df, stat, n_small)
        page.try_figure(
            lambda tab=tab, label=label: structure.per_layer_bars(tab, label, f"{label} per layer"),
            f"{label} per layer (test split), mean ± std over seeds",
            f"struct_{stat}",
        )
        page.table(tab, f"{label} per layer (seed mean and std)")
    layers = weighted_layer_names(small[0].weights()) if small else []
    if layers:
        lay = layers[1] if len(layers) > 1 else layers[0]
        page.try_figure(lambda: structure.weight_histograms(small, lay), f"Fig 6c: weight histogram of {lay}", "fig6c")


def _config(page: Page, d: Path) -> None:
    page.h2("Sweep configuration")
    sf = d / "sweep.yaml"
    page.pre(sf.read_text() if sf.exists() else "(sweep.yaml missing)")


__all__ = ["ReportError", "build_sweep_report", "representative_betas", "weighted_layer_names"]
_ = np
