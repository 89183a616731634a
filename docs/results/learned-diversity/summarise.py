"""Every number of the learned-diversity study v2 README (seed 004), from the committed runs.csv.

.venv/bin/python docs/results/learned-diversity/summarise.py                 # print the README's tables and verdicts
.venv/bin/python docs/results/learned-diversity/summarise.py --collect RUN_DIR...   # (re)build runs.csv + meta.csv
.venv/bin/python docs/results/learned-diversity/summarise.py --pilot         # the pilot table and cost arithmetic
.venv/bin/python docs/results/learned-diversity/summarise.py --plot-curves DIR   # curves-*.png from curves.csv

runs.csv: one row per task × model × width × source × arm × seed with ``task``, ``arm``, ``seed``, ``val_metric``,
``test_metric``, ``metric`` (accuracy | mse) and the analysis columns ``model`` (nn | hnn), ``width`` (hidden
neurons), ``source`` (the task whose meta-learned activations the learned arms use), ``participation_r`` (R/N),
``hessian_trace``, ``near_zero_fraction``, ``epochs`` (the arms' budget E), ``base`` (the learned types' base, from
the run's config; sine when absent). A *setting* is (task, model, width, source, E), a non-sine base written into the
source; its arms are paired by seed. The printout ends with the per-claim Readings (readings.py).

Pre-registered test (README): in each setting, mix against every other arm, two-sided Wilcoxon signed-rank on the
per-seed differences of ``val_metric`` (exact for n ≤ 50 without ties), Holm-corrected over those arms.

curves.csv (``--collect``, from the runs' per-epoch validation curves): the plateau epoch of every arm × seed by the
README's rule and the curve itself; ``summarise.py`` prints the convergence table from it (study_curves.py).
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
COLUMNS = ["task", "model", "width", "source", "epochs", "arm", "seed", "metric", "val_metric", "test_metric",
           "participation_r", "hessian_trace", "near_zero_fraction", "base"]
META_COLUMNS = ["task", "model", "outer_steps_run", "stopped", "best_outer_step", "meta_network_val",
                "first_val_loss", "best_val_loss", "export_max_abs_error"]
ALPHA = 0.05


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def fmt(x: float, metric: str) -> str:
    if x != x:  # NaN
        return "–"
    return f"{100 * x:.2f}%" if metric == "accuracy" else f"{x:.4g}"


def holm(pvalues: list[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the order given: p_(i) ↦ max_{j ≤ i} min(1, (m − j + 1) p_(j))."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adj = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adj[i] = running
    return adj


def wilcoxon_p(diff: np.ndarray) -> float:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (NaN with fewer than 2 non-zero ones)."""
    from scipy.stats import wilcoxon

    if np.count_nonzero(diff) < 2:
        return float("nan")
    return float(wilcoxon(diff).pvalue)


def read_runs(path: Path) -> list[dict[str, Any]]:
    rows = list(csv.DictReader(path.open()))
    for r in rows:
        r["seed"], r["width"] = int(r["seed"]), int(r["width"] or 0)
        r["epochs"] = int(r.get("epochs") or 0)  # training budget E (0: not recorded)
        r["base"] = r.get("base") or "sin"  # the learned types' base (Fig 4 sweep: zero); older runs.csv: sine
        for k in ("val_metric", "test_metric", "participation_r", "hessian_trace", "near_zero_fraction"):
            r[k] = float(r[k]) if r.get(k) not in (None, "") else float("nan")
    return rows


def setting_source(source: str, base: str) -> str:
    """A setting's activation source: the source task, with a non-sine base written into it ("mnist1d (base
    zero)")."""
    return source if base == "sin" else f"{source} (base {base})"


def settings(rows: list[dict[str, Any]]) -> dict[tuple, dict[str, dict[int, dict[str, Any]]]]:
    """{(task, model, width, source, E): {arm: {seed: row}}} in first-seen order (E: the arms' epoch budget, so a
    task rerun with 2E is a setting of its own). A non-sine base is part of the source ("mnist1d (base zero)": the
    Fig 4 sweep), so its width-100 run is not merged with the main study's."""
    out_: dict[tuple, dict[str, dict[int, dict[str, Any]]]] = {}
    for r in rows:
        source = setting_source(r.get("source") or r["task"], r.get("base", "sin"))
        key = (r["task"], r.get("model") or "nn", r["width"], source, r["epochs"])
        out_.setdefault(key, {}).setdefault(r["arm"], {})[r["seed"]] = r
    return out_


def compare_mix(arms: dict[str, dict[int, dict[str, Any]]], column: str, higher: bool) -> dict[str, dict[str, Any]]:
    """Mix against every other arm on ``column``: mean advantage (> 0: mix better), wins, p and Holm p."""
    mix = arms["mix"]
    res: dict[str, dict[str, Any]] = {}
    for arm, per_seed in arms.items():
        if arm == "mix":
            continue
        a, b = _paired(mix, per_seed, column)
        diff = a - b if higher else b - a
        diff = diff[np.isfinite(diff)]  # analysis columns may exist on some seeds only
        res[arm] = {"advantage": float(diff.mean()) if diff.size else float("nan"), "wins": int((diff > 0).sum()),
                    "n": int(diff.size),
                    "p": wilcoxon_p(diff)}
    for arm, p in zip(res, holm([v["p"] if v["p"] == v["p"] else 1.0 for v in res.values()])):
        res[arm]["p_holm"] = p
    return res


def verdict(cmp: dict[str, dict[str, Any]], pures: list[str]) -> str:
    """holds: mix better on average than each pure type with Holm p < α for each; does not hold: some pure type
    better on average; weaker: otherwise (better on average, not significantly against all)."""
    if not all(p in cmp for p in pures):
        return "n/a"
    if any(cmp[p]["advantage"] <= 0 for p in pures):
        return "does not hold"
    return "holds" if all(cmp[p]["p_holm"] < ALPHA for p in pures) else "weaker"


def claim_verdict(val: dict[str, dict[str, Any]], test: dict[str, dict[str, Any]], pures: list[str]) -> str:
    """The pre-registered reading: the validation verdict, downgraded from holds to weaker when the test split does
    not also put the mix ahead of each pure type on average."""
    v = verdict(val, pures)
    if v == "holds" and any(test[p]["advantage"] <= 0 for p in pures):
        return "weaker"
    return v


def _mean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if v.size else float("nan")


def _sd(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.std(ddof=1)) if v.size > 1 else float("nan")


def _arm_table(arms: dict[str, dict[int, dict[str, Any]]], metric: str) -> None:
    out(f"| arm | n | val {metric} mean ± sd | val median | test {metric} mean ± sd | r = R/N | Tr H mean "
        "| near-zero fraction mean ± sd [min, max] |")
    out("|---|---|---|---|---|---|---|---|")
    for arm, per_seed in arms.items():
        c = {k: np.array([r[k] for r in per_seed.values()]) for k in
             ("val_metric", "test_metric", "participation_r", "hessian_trace", "near_zero_fraction")}
        nz = c["near_zero_fraction"][np.isfinite(c["near_zero_fraction"])]
        nz_sd = "–" if nz.size < 2 else f"{_sd(nz):.3f}"
        nz_s = f"{nz.mean():.3f} ± {nz_sd} [{nz.min():.3f}, {nz.max():.3f}]" if nz.size else "–"
        out(f"| {arm} | {len(per_seed)} | {fmt(_mean(c['val_metric']), metric)} ± {fmt(_sd(c['val_metric']), metric)}"
            f" | {fmt(float(np.median(c['val_metric'])), metric)} | {fmt(_mean(c['test_metric']), metric)} ± "
            f"{fmt(_sd(c['test_metric']), metric)} | {_mean(c['participation_r']):.3f} "
            f"| {fmt(_mean(c['hessian_trace']), 'x')} | {nz_s} |")


def report(rows: list[dict[str, Any]], meta: Path) -> None:
    """Per setting: the arm table, mix-vs-arm tests on val and test, the claim verdict; then ``meta`` (meta.csv)."""
    for (task, model, width, source, epochs), arms in settings(rows).items():
        metric = next(iter(next(iter(arms.values())).values()))["metric"]
        higher = metric == "accuracy"
        budget = f", E = {epochs} epochs" if epochs else ""
        out(f"\n### {task} — {model}, width {width}, activations from {source}{budget}\n")
        _arm_table(arms, metric)
        if "mix" not in arms:
            continue
        pures = sorted(a for a in arms if a.startswith("type"))
        cmps = {}
        for column, split in (("val_metric", "val"), ("test_metric", "test")):
            cmps[split] = cmp = compare_mix(arms, column, higher)
            parts = [f"vs {a}: {fmt(v['advantage'], metric)}, {v['wins']}/{v['n']}, p = {v['p']:.3g}, "
                     f"Holm p = {v['p_holm']:.3g}" for a, v in cmp.items()]
            out(f"- mix ({split}; advantage, mix-better seeds, Wilcoxon): " + "; ".join(parts))
            out(f"- mix beats each pure type ({split}): **{verdict(cmp, pures)}**")
        out(f"- claim (validation, checked on test): **{claim_verdict(cmps['val'], cmps['test'], pures)}**")
        for column, better in (("participation_r", True), ("hessian_trace", False), ("near_zero_fraction", True)):
            cmp = compare_mix(arms, column, better)
            out(f"- flatness/participation, mix vs arm on {column} (> 0: mix {'higher' if better else 'lower'}): "
                + "; ".join(f"{a}: {v['advantage']:.4g}, Holm p = {v['p_holm']:.3g}" for a, v in cmp.items()))
    _cross_settings(settings(rows))
    if meta.exists():
        out("\n### meta-learning\n")
        out("| " + " | ".join(META_COLUMNS) + " |")
        out("|" + "---|" * len(META_COLUMNS))
        for r in csv.DictReader(meta.open()):
            out("| " + " | ".join(r[c] for c in META_COLUMNS) + " |")


def _paired(a: dict[int, dict[str, Any]], b: dict[int, dict[str, Any]], col: str) -> tuple[np.ndarray, np.ndarray]:
    seeds = sorted(set(a) & set(b))
    return np.array([a[s][col] for s in seeds]), np.array([b[s][col] for s in seeds])


def hnn_vs_nn(hnn: dict[str, dict[int, dict[str, Any]]], nn: dict[str, dict[int, dict[str, Any]]]) -> dict[str, Any]:
    """Fig 6(b): per arm in both, paired by seed, the ratio of mean val MSE hnn/nn, the Holm p (over arms) of the
    Wilcoxon on nn − hnn (a NaN p counts as 1), the means and the sd ratio."""
    res = {a: _paired(hnn[a], nn[a], "val_metric") for a in hnn if a in nn}
    ps = [wilcoxon_p(n - h) for h, n in res.values()]
    adj = holm([p if p == p else 1.0 for p in ps])
    return {
        a: {
            "ratio": float(h.mean() / n.mean()),
            "hnn": float(h.mean()),
            "nn": float(n.mean()),
            "p_holm": p,
            "sd_ratio": float(h.std(ddof=1) / n.std(ddof=1)) if h.size > 1 else float("nan"),
        }
        for (a, (h, n)), p in zip(res.items(), adj)
    }


def _cross_settings(sets: dict[tuple, dict[str, dict[int, dict[str, Any]]]]) -> None:
    """Fig 6(b): HNN vs NN per arm (paired by seed; ratio of mean val MSE, Holm over arms); reuse: a setting whose
    activations come from another task, its mix vs the target's own mix and own sine (paired by seed)."""
    for (task, model, width, source, epochs), arms in sets.items():
        nn_arms = sets.get((task, "nn", width, source, epochs))
        if model == "hnn" and nn_arms:
            res = hnn_vs_nn(arms, nn_arms)
            out(f"\n- {task} HNN vs NN (val MSE ratio hnn/nn, Holm p): " + "; ".join(
                f"{a}: {r['ratio']:.3g}, {r['p_holm']:.3g}" for a, r in res.items()))
        own = sets.get((task, model, width, task, epochs))
        if source != task and " (base " not in source and own and "mix" in arms and "mix" in own:
            higher = next(iter(arms["mix"].values()))["metric"] == "accuracy"
            parts = []
            for ref in ("mix", "sin"):
                if ref in own:
                    m, r = _paired(arms["mix"], own[ref], "val_metric")
                    d = m - r if higher else r - m
                    parts.append(f"vs own {ref}: {d.mean():.4g} (> 0: reused better), p = {wilcoxon_p(d):.3g}")
            out(f"\n- reuse on {task} ({model}, activations from {source}), reused mix " + "; ".join(parts))


@functools.cache
def _sibling(stem: str) -> Any:
    """``<stem>.py`` next to this file, loaded once by path (these scripts are run as files, not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"ldnn_study_{stem}", HERE / f"{stem}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _curves_module() -> Any:
    """study_curves.py: the plateau rule, curves.csv and the curve plots."""
    return _sibling("study_curves")


def _readings_module() -> Any:
    """readings.py: the per-claim readings of the README's hypotheses table."""
    return _sibling("readings")


def _source(res: dict[str, Any]) -> str:
    """The task whose activations a run's learned arms use: ``activations_from``'s task (a reuse run), else its own."""
    src = res.get("activations_from")
    if isinstance(src, dict):
        return src["task"]
    return src or res["task"]


def _collect_one(run: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """runs.csv rows (from metrics.jsonl's per-seed eval records), meta.csv rows (from results.json) and curves.csv
    rows of a run."""
    import yaml

    res = json.loads((run / "results.json").read_text())
    cfg = yaml.safe_load((run / "config.yaml").read_text())
    width, base = int(cfg.get("hidden", [100])[0]), cfg.get("base") or "sin"
    source = _source(res)
    records = _curves_module().eval_records(run)  # the last record per (model, arm, seed): resumed runs repeat
    curves = _curves_module().curve_rows(records, res, width, setting_source(source, base))
    rows, metas = [], []
    for rec in records:
        metric = res[rec["model"]]["metric"]
        rows.append({"task": res["task"], "model": rec["model"], "width": width, "source": source,
                     "epochs": len(rec.get(f"val_{metric}_curve") or []), "arm": rec["arm"],
                     "seed": rec["seed"], "metric": metric, "val_metric": rec[f"val_{metric}"],
                     "test_metric": rec[f"test_{metric}"], "participation_r": rec["participation_ratio"] / width,
                     "hessian_trace": rec.get("hessian_trace", ""),
                     "near_zero_fraction": rec.get("near_zero_fraction", ""), "base": base})
    for model in ("nn", "hnn"):
        if model in res and res[model].get("meta"):  # a reuse run has no meta-learning of its own (meta: null)
            m = res[model]["meta"]
            vc = m.get("val_loss_curve") or [float("nan")]
            metas.append({"task": res["task"], "model": model, "outer_steps_run": m.get("outer_steps_run", ""),
                          "stopped": m.get("stopped", ""), "best_outer_step": m.get("best_outer_step", ""),
                          "meta_network_val": f"{m.get('meta_network_val', float('nan')):.4g}",
                          "first_val_loss": f"{vc[0]:.4g}", "best_val_loss": f"{min(vc):.4g}",
                          "export_max_abs_error": f"{m['export_max_abs_error_on_range']:.3g}"})
    return rows, metas, curves


def collect(runs: list[Path], dest: Path) -> None:
    """Write runs.csv, meta.csv and curves.csv into ``dest`` from the given ldnn run directories."""
    rows, metas, curve_rows = [], [], []
    for run in runs:
        r, m, c = _collect_one(run)
        rows += r
        metas += m
        curve_rows += c
    _curves_module().write_curves(curve_rows, dest / "curves.csv")
    for name, cols, data in (("runs.csv", COLUMNS, rows), ("meta.csv", META_COLUMNS, metas)):
        with (dest / name).open("w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=cols)
            w.writeheader()
            w.writerows(data)
    out(f"wrote {len(rows)} rows to {dest / 'runs.csv'}, {len(metas)} to {dest / 'meta.csv'} and "
        f"{len(curve_rows)} curves to {dest / 'curves.csv'}")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description="Learned-diversity study v2: README numbers from runs.csv.")
    p.add_argument("--collect", nargs="+", metavar="RUN_DIR", help="build runs.csv/meta.csv from ldnn run dirs")
    p.add_argument("--runs", default=str(HERE / "runs.csv"), help="runs.csv to read (default: the committed one)")
    p.add_argument("--pilot", action="store_true", help="print the pilot table and cost arithmetic")
    p.add_argument("--plot-curves", metavar="DIR", help="write curves-*.png (mean ± sd per arm) from curves.csv")
    a = p.parse_args(argv)
    if a.plot_curves:
        for path in _curves_module().plot_curves(Path(a.runs).parent / "curves.csv", Path(a.plot_curves)):
            out(f"wrote {path}")
    elif a.collect:
        collect([Path(r) for r in a.collect], Path(a.runs).parent)
    elif a.pilot:
        from pilot_report import pilot_report

        pilot_report(HERE / "pilot")
    else:
        runs = Path(a.runs)
        if not runs.exists():
            sys.exit(f"no {runs}: the study has not been collected yet (run the study configs, then --collect)")
        rows = read_runs(runs)
        report(rows, runs.parent / "meta.csv")
        if (runs.parent / "curves.csv").exists():
            _curves_module().convergence_report(runs.parent / "curves.csv", out)
        _readings_module().readings_report(rows, out)


if __name__ == "__main__":
    main()
