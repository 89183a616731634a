"""Every number of the Co-DeepNet study v2 README (docs/results/cooperative/README.md) from runs.csv.

    python docs/results/cooperative/summarise.py                      # read runs.csv next to this file, print
    python docs/results/cooperative/summarise.py --collect RUN_DIR... # build runs.csv from the runs' results.json
    python docs/results/cooperative/summarise.py --pilot              # the Cost section's numbers from pilot/

runs.csv has one row per seed × model: ``seed, model, val_mae, test_mae, parameters, train_seconds`` (model labels
as in results.json: ``codeepnet``, ``codeepnet[none]``, ``independent_cnns``, ``single_cnn``, ``svr``, ``gbr``,
``elastic_net``). Each pre-registered comparison is paired by seed: d = MAE(other) − MAE(pair); the verdict is
*holds* (mean d > 0 and one-sided paired t-test p < 0.05, Holm-adjusted over the comparisons present), *weaker*
(mean d > 0 otherwise) or *does not hold* (mean d ≤ 0).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from scipy import stats

HERE = Path(__file__).resolve().parent
RUNS = HERE / "runs.csv"
COLUMNS = ["seed", "model", "val_mae", "test_mae", "parameters", "train_seconds"]
PAIR = "codeepnet"
COMPARISONS = {  # other model -> the seed-001 claim it tests
    "codeepnet[none]": "H2 knowledge transmission helps (same pair, transfer off)",
    "independent_cnns": "H3 cooperation beats two independent CNNs averaged",
    "single_cnn": "H1 pair beats a single larger CNN",
    "single_cnn_searched": "H1b pair beats the single CNN searched by the same GA",
    "svr": "H4a pair beats SVR",
    "gbr": "H4b pair beats gradient boosting",
    "elastic_net": "H4c pair beats an elastic net (linear clock refitted)",
}


def collect(run_dirs: list[Path]) -> pd.DataFrame:
    """One row per (seed, model) from each run's results.json (seed from its config.yaml)."""
    rows = []
    for d in run_dirs:
        seed = int(yaml.safe_load((d / "config.yaml").read_text())["seed"])
        models = json.loads((d / "results.json").read_text())["models"]
        for name, m in models.items():
            rows.append({"seed": seed, "model": name, "val_mae": m["val_mae"], "test_mae": m["mae"],
                         "parameters": m["n_parameters"], "train_seconds": m["train_seconds"]})
    return pd.DataFrame(rows, columns=COLUMNS).sort_values(["seed", "model"], kind="stable")


def paired(runs: pd.DataFrame, other: str) -> dict[str, float]:
    """Paired comparison of ``other`` with the pair over the seeds both have: mean/sd of d = MAE(other) − MAE(pair),
    seeds the pair wins, one-sided paired t-test p (H1: d > 0) and two-sided Wilcoxon signed-rank p."""
    wide = runs.pivot(index="seed", columns="model", values="test_mae")[[PAIR, other]].dropna()
    d = (wide[other] - wide[PAIR]).to_numpy()
    n = len(d)
    sd = float(np.std(d, ddof=1)) if n > 1 else float("nan")
    t = float(np.mean(d) / (sd / np.sqrt(n))) if n > 1 and sd > 0 else float("nan")
    p_t = float(stats.t.sf(t, n - 1)) if np.isfinite(t) else float("nan")
    p_w = float(stats.wilcoxon(d).pvalue) if n > 1 and np.any(d != 0) else float("nan")
    return {"n": n, "mean_d": float(np.mean(d)), "sd_d": sd, "wins": int(np.sum(d > 0)), "t": t, "p_t": p_t,
            "p_wilcoxon": p_w}


def holm(p: dict[str, float]) -> dict[str, float]:
    """Holm-adjusted p-values (monotone, capped at 1)."""
    order = sorted(p, key=lambda k: p[k])
    out, running = {}, 0.0
    for i, k in enumerate(order):
        running = max(running, min(1.0, (len(order) - i) * p[k]))
        out[k] = running
    return out


def verdict(mean_d: float, p_adj: float) -> str:
    """holds / weaker / does not hold (module docstring)."""
    if not mean_d > 0:
        return "does not hold"
    return "holds" if p_adj < 0.05 else "weaker"


def efficiency(runs: pd.DataFrame, other: str) -> str:
    """H5 (seed 001: "fewer computational resources"): seeds where the pair has fewer parameters and less training
    time than ``other``, and the mean ratios pair / other."""
    w = runs[runs.model.isin([PAIR, other])].pivot(index="seed", columns="model")
    w = w.dropna()
    par, sec = w["parameters"], w["train_seconds"]
    fewer_p, less_t = int((par[PAIR] < par[other]).sum()), int((sec[PAIR] < sec[other]).sum())
    return (f"H5 efficiency vs {other}: fewer parameters on {fewer_p}/{len(w)} seeds (mean ratio "
            f"{(par[PAIR] / par[other]).mean():.3f}), less training time on {less_t}/{len(w)} (mean ratio "
            f"{(sec[PAIR] / sec[other]).mean():.3f})")


def report(runs: pd.DataFrame) -> list[str]:
    """The README's lines: the per-model table, then one line per comparison."""
    lines = ["| model | seeds | test MAE mean ± sd | val MAE | parameters | training s |", "|---|---|---|---|---|---|"]
    for name, g in runs.groupby("model", sort=False):
        sd = g.test_mae.std(ddof=1) if len(g) > 1 else 0.0
        lines.append(f"| {name} | {len(g)} | {g.test_mae.mean():.3f} ± {sd:.3f} | {g.val_mae.mean():.3f} | "
                     f"{g.parameters.mean():,.0f} | {g.train_seconds.mean():.1f} |")
    present = [m for m in COMPARISONS if m in set(runs.model) and PAIR in set(runs.model)]
    res = {m: paired(runs, m) for m in present}
    adj = holm({m: r["p_t"] for m, r in res.items() if np.isfinite(r["p_t"])})
    lines.append("")
    for m in present:
        r = res[m]
        p_adj = adj.get(m, float("nan"))
        lines.append(f"{COMPARISONS[m]}: d = {r['mean_d']:+.3f} ± {r['sd_d']:.3f} years over {r['n']} seeds, pair "
                     f"better on {r['wins']}/{r['n']}, t = {r['t']:.3f}, one-sided p = {r['p_t']:.4f} (Holm "
                     f"{p_adj:.4f}), Wilcoxon two-sided p = {r['p_wilcoxon']:.4f} -> {verdict(r['mean_d'], p_adj)}")
    lines += [efficiency(runs, m) for m in ("single_cnn", "single_cnn_searched") if m in present]
    if PAIR in set(runs.model):
        mae = runs.loc[runs.model == PAIR, "test_mae"]
        lines.append(f"H6 pair under 4 years MAE: mean test MAE {mae.mean():.3f} over {len(mae)} seeds -> "
                     f"{'holds' if mae.mean() < 4 else 'does not hold'}")
    return lines


def pilot(pilot_dir: Path, seeds: int = 5) -> list[str]:
    """The README's Cost numbers from the pilot's ``time.txt`` (``/usr/bin/time -v``) and ``results.json``."""
    times = dict(line.strip().rsplit(": ", 1) for line in (pilot_dir / "time.txt").read_text().splitlines())
    cpu = float(times["User time (seconds)"]) + float(times["System time (seconds)"])
    r = json.loads((pilot_dir / "results.json").read_text())
    maes = ", ".join(f"{k} {m['mae']:.2f}" for k, m in r["models"].items())
    return [f"pilot CPU time {cpu:.1f} s = {cpu / 3600:.3f} core-h per seed, {seeds * cpu / 3600:.2f} core-h for "
            f"{seeds} seeds; wall {times['Elapsed (wall clock) time (h:mm:ss or m:ss)']}, "
            f"{times['Percent of CPU this job got']} CPU",
            f"pair search {r['search']['seconds']:.0f} s ({r['search']['evaluations']} chromosomes), single-CNN "
            f"search {r['single_cnn_search']['seconds']:.0f} s ({r['single_cnn_search']['evaluations']}), the rest "
            f"{r['seconds'] - r['search']['seconds'] - r['single_cnn_search']['seconds']:.0f} s",
            f"pilot test MAE: {maes}",
            f"pair front {len(r['search']['pareto_front'])} chromosomes, pair parameters "
            f"{r['models'][PAIR]['n_parameters']:,}, true age CpGs selected "
            f"{r['data']['selected_truly_age_associated']}/{r['data']['n_age_cpgs']}"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--collect", nargs="+", type=Path, metavar="RUN_DIR", help="build runs.csv from these runs")
    ap.add_argument("--runs", type=Path, default=RUNS, help="runs.csv to read or write (default: next to this file)")
    ap.add_argument("--pilot", type=Path, nargs="?", const=HERE / "pilot", help="print the Cost numbers of a pilot")
    args = ap.parse_args(argv)
    if args.pilot:
        sys.stdout.write("\n".join(pilot(args.pilot)) + "\n")
        return 0
    if args.collect:
        collect(args.collect).to_csv(args.runs, index=False)
        sys.stdout.write(f"wrote {args.runs}\n")
        return 0
    if not args.runs.exists():
        sys.stderr.write(f"no {args.runs}: run the study and --collect first\n")
        return 2
    runs = pd.read_csv(args.runs)
    missing = [c for c in COLUMNS if c not in runs.columns]
    if missing:
        sys.stderr.write(f"{args.runs} lacks columns {missing}; expected {COLUMNS}\n")
        return 2
    sys.stdout.write("\n".join(report(runs)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
