"""The HTML report of one finished run: its figures, final figures and configuration."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml

from coterie.report.html import Page


def build_run_report(d: Path) -> tuple[Page, pd.DataFrame]:
    """The report of one run: its figures (PNG files of the run, plus the per-run analysis figures of a
    ``colearn`` run), its final figures and its configuration."""
    from coterie.report.rundata import load_run
    from coterie.sweep.store import flatten_metrics

    run = load_run(d)
    page = Page(f"coterie run report — {run.config.get('name') or d.name}", d)
    flat = flatten_metrics(run.results)
    summary = pd.DataFrame({"metric": list(flat), "value": list(flat.values())})
    page.h2("Final figures")
    key = summary[summary["metric"].str.match(r"^(val|test)\.(ens_acc|member_acc_mean|nll|ece|mean_js)")]
    page.table(key, "validation (last epoch) and test figures")
    methods = run.results.get("methods")
    if isinstance(methods, dict) and methods:  # experiment: expansion — one row per variant (seed 000 Table S5)
        rows = [
            {"variant": name, **{k: v for k, v in m.items() if not isinstance(v, (dict, list))}}
            for name, m in methods.items()
            if isinstance(m, dict)
        ]
        page.h2("Expansion and boosting (Table S5)")
        page.table(
            pd.DataFrame(rows),
            "test accuracy of each way to expand the base ensemble (mean rule; geometric and vote alongside)",
        )
    page.h2("Figures")
    for png in sorted(d.glob("*.png")):
        page.figure(png.read_bytes(), png.stem.replace("_", " "), f"run-{png.stem}")
    if run.predictions is not None:
        from coterie.report import agreement, functional, structure

        page.try_figure(
            lambda: functional.js_matrices([run]), "pairwise JS dissimilarity d(n_i, n_j) on test (Fig 4a)", "js_matrix"
        )
        page.try_figure(
            lambda: functional.mds_trajectory(run)[0],
            "MDS of networks and ensemble along training (Fig 4b, validation subset)",
            "mds",
        )
        page.try_figure(
            lambda: functional.distance_trajectories([run]),
            "d(n1,n2) vs KL(q‖p_i) along training (Fig 2b)",
            "trajectory",
        )
        page.try_figure(
            lambda: agreement.entropy_histogram([run], all_members=True),
            "entropy of each member on test (Fig S5)",
            "entropy",
        )
        page.try_figure(
            lambda: agreement.confidence_voters([run]), "ensemble confidence vs correct voters (Fig 5c)", "voters"
        )
        page.try_figure(
            lambda: structure.sparsity_during_training([run]), "inactive units during training (Fig 6a)", "sparsity"
        )
    page.h2("Configuration")
    page.pre(yaml.safe_dump(run.config, sort_keys=False))
    page.h2("results.json")
    page.pre(json.dumps(run.results, indent=1)[:20000])
    return page, summary
