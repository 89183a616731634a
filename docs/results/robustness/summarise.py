"""Every number of docs/results/robustness/README.md, from runs.csv (and diversity.csv), with the pre-registered
readings of seed 002's claims.

``python summarise.py`` reads ``runs.csv`` (columns ``seed, method, setting, attack, eps, rule, accuracy``) and, when
present, ``diversity.csv`` (``seed, method, measure, layer, value``) beside this file and prints the tables and the
readings. ``python summarise.py --collect RUN_DIR...`` builds both files from the experiments' ``results.json``
(``records`` and per-repeat CKA / gradient similarity). ``--runs PATH`` reads another runs.csv (tests).

Statistics: mean ± sample std (ddof = 1) and the 95 % CI half-width from Student's t over seeds; comparisons are
paired by seed (the targets of one seed share initialisation and data order): a cell is ``better`` when the 95 % CI
of the paired difference lies above 0, ``worse`` when below, else ``tie``. A claim over several cells *holds* when no
cell is worse and at least 3/4 are better, is *weaker* when at most 1/4 are worse and more are better than worse,
and *does not hold* otherwise. Fewer than 2 seeds: no reading ("awaiting seeds").
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from scipy import stats

HERE = Path(__file__).resolve().parent
FIELDS = ["seed", "method", "setting", "attack", "eps", "rule", "accuracy"]
DIV_FIELDS = ["seed", "method", "measure", "layer", "value"]
#: pre-registered ε values (README "Attacks"): seed 002's Table 1 ε, the calibrated grid and its upper part
EPS_PAPER = 0.07
EPS_MID = 0.03
EPS_GRID = [0.005, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07, 0.1, 0.15, 0.2]
EPS_UPPER = [0.03, 0.05, 0.07, 0.1]
WB_EPS = [0.01, 0.03, 0.07]
BASELINES = ["unprotected", "adp", "gal", "dverge"]
METHODS = [*BASELINES, "parl"]
ATTACKS = ["fgsm", "bim", "mim", "pgd"]
ALL_ATTACKS = ["fgsm", "bim", "mim", "mim-mu1", "pgd"]
K_METHODS = ["parl", "parl-5", "parl-3"]  # PARL/7 (the main PARL), /5, /3
Rows = list[dict]


def _say(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def load(path: Path) -> Rows:
    """runs.csv rows with typed ``seed``, ``eps`` and ``accuracy``."""
    with path.open() as f:
        return [{**r, "seed": int(r["seed"]), "eps": float(r["eps"]), "accuracy": float(r["accuracy"])}
                for r in csv.DictReader(f)]


def stat(values: Sequence[float]) -> tuple[float, float, float, int]:
    """Mean, sample std (ddof = 1), 95 % CI half-width (Student's t) and n; std and CI are nan for n < 2."""
    n = len(values)
    if n == 0:
        return math.nan, math.nan, math.nan, 0
    mean = sum(values) / n
    if n < 2:
        return mean, math.nan, math.nan, 1
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    return mean, std, float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n), n


def per_seed(rows: Rows, method: str, setting: str, attack: str, eps: float, rule: str) -> dict[int, float]:
    """seed → accuracy of one cell."""
    return {r["seed"]: r["accuracy"] for r in rows if r["method"] == method and r["setting"] == setting
            and r["attack"] == attack and abs(r["eps"] - eps) < 1e-9 and r["rule"] == rule}


def paired(rows: Rows, a: str, b: str, setting: str, attack: str, eps: float, rule: str) -> tuple[float, float, int]:
    """Mean and 95 % CI half-width of accuracy(a) − accuracy(b) over the seeds both have, and that count."""
    va, vb = per_seed(rows, a, setting, attack, eps, rule), per_seed(rows, b, setting, attack, eps, rule)
    d = [va[s] - vb[s] for s in sorted(set(va) & set(vb))]
    mean, _, ci, n = stat(d)
    return mean, ci, n


def cell(mean: float, ci: float) -> str:
    """``better`` / ``worse`` / ``tie`` from a paired difference's mean and CI half-width."""
    if math.isnan(ci):
        return "n/a"
    return "better" if mean - ci > 0 else "worse" if mean + ci < 0 else "tie"


def verdict(cells: Sequence[str]) -> str:
    """The pre-registered three-way reading of a claim over its cells."""
    if not cells or "n/a" in cells:
        return "awaiting seeds"
    better, worse, k = cells.count("better"), cells.count("worse"), len(cells)
    if worse == 0 and better >= 0.75 * k:
        return "holds"
    if worse <= 0.25 * k and better > worse:
        return "weaker"
    return "does not hold"


def verdict_par(cells: Sequence[str]) -> str:
    """Reading of an "at par" claim: holds when no cell is worse, weaker when at most 1/4 are, else does not hold."""
    if not cells or "n/a" in cells:
        return "awaiting seeds"
    worse = cells.count("worse")
    return "holds" if worse == 0 else "weaker" if worse <= 0.25 * len(cells) else "does not hold"


def fmt(values: Sequence[float]) -> str:
    mean, std, ci, n = stat(values)
    if n == 0:
        return "–"
    return f"{100 * mean:.1f}" if n < 2 else f"{100 * mean:.1f} ± {100 * std:.1f} [±{100 * ci:.1f}]"


def table(rows: Rows, setting: str, eps: float, rule: str, methods: Sequence[str]) -> None:
    """Table 1 layout: clean and every attack at one ε, accuracy % mean ± std [95 % CI half-width]."""
    seeds = sorted({r["seed"] for r in rows if r["setting"] == setting and abs(r["eps"] - eps) < 1e-9})
    _say(f"\n{setting}, ε = {eps:g}, rule {rule}, seeds {seeds}: accuracy % mean ± std [95 % CI]\n")
    _say("| method | clean | " + " | ".join(ALL_ATTACKS) + " |")
    _say("|---" * (len(ALL_ATTACKS) + 2) + "|")
    for m in methods:
        cells = [fmt(list(per_seed(rows, m, "clean", "clean", 0.0, rule).values()))]
        cells += [fmt(list(per_seed(rows, m, setting, a, eps, rule).values())) for a in ALL_ATTACKS]
        _say(f"| {m} | " + " | ".join(cells) + " |")


def curves(rows: Rows, setting: str, rule: str, methods: Sequence[str], eps_list: Sequence[float]) -> None:
    """Figs 3–5 as numbers: mean accuracy % per attack, method and ε."""
    _say(f"\n{setting} curves, rule {rule}: mean accuracy % per ε {list(eps_list)}\n")
    for a in ALL_ATTACKS:
        for m in methods:
            means = [stat(list(per_seed(rows, m, setting, a, e, rule).values()))[0] for e in eps_list]
            _say(f"{a:8s} {m:12s} " + " ".join("  –  " if math.isnan(v) else f"{100 * v:5.1f}" for v in means))


def comparison(rows: Rows, name: str, a_methods: Sequence[str], b_methods: Sequence[str], setting: str,
               attacks: Sequence[str], eps_list: Sequence[float], rule: str, at_par: bool = False) -> str:
    """Print the paired cells a − b (pp, mean ± CI) of one claim and return its reading (``at_par``: ties count
    for the claim)."""
    cells = []
    for a, b in zip(a_methods, b_methods, strict=True):
        for att in attacks:
            for e in eps_list:
                mean, ci, n = paired(rows, a, b, setting, att, e, rule)
                c = cell(mean, ci)
                cells.append(c)
                _say(f"  {a} − {b} {att} ε={e:g}: {100 * mean:+.1f} ± {100 * ci:.1f} pp (n={n}) {c}")
    v = verdict_par(cells) if at_par else verdict(cells)
    _say(f"{name}: {v} ({cells.count('better')} better, {cells.count('tie')} tie, {cells.count('worse')} worse)")
    return v


def clean_claims(rows: Rows, rule: str) -> None:
    """H2 (Table 1, clean) and H6 (Table 2): clean test accuracy of PARL and of PARL/K."""
    mean, ci, n = paired(rows, "unprotected", "parl", "clean", "clean", 0.0, rule)
    others = [cell(*paired(rows, "parl", b, "clean", "clean", 0.0, rule)[:2]) for b in BASELINES[1:]]
    v = "awaiting seeds" if n < 2 else (
        "holds" if mean <= 0.02 and "worse" not in others else "weaker" if mean <= 0.05 else "does not hold")
    _say(f"H2 clean cost U − PARL {100 * mean:+.1f} ± {100 * ci:.1f} pp (n={n}); PARL vs ADP/GAL/DVERGE {others}: {v}")
    k = [stat(list(per_seed(rows, m, "clean", "clean", 0.0, rule).values()))[0] for m in K_METHODS]
    mean37, ci37, n37 = paired(rows, "parl-3", "parl", "clean", "clean", 0.0, rule)
    monotone = k[2] >= k[1] >= k[0]
    v6 = "awaiting seeds" if n37 < 2 else (
        "holds" if monotone and cell(mean37, ci37) == "better" else "weaker" if mean37 > 0 else "does not hold")
    _say(f"H6 Table 2 clean PARL/7, /5, /3 = {' / '.join(f'{100 * x:.1f}' for x in k)} %; "
         f"/3 − /7 {100 * mean37:+.1f} ± {100 * ci37:.1f} pp (n={n37}): {v6}")


def checks(rows: Rows, rule: str) -> None:
    """C0 (calibration: unprotected transfer BIM at the smallest ε keeps ≥ 50 % of its clean accuracy; every method
    < 10 % at the largest) and C1 (every target's clean test accuracy ≥ 0.85 in every seed)."""
    lo, hi = min(EPS_GRID), max(EPS_GRID)
    u_clean = stat(list(per_seed(rows, "unprotected", "clean", "clean", 0.0, rule).values()))[0]
    u_lo = stat(list(per_seed(rows, "unprotected", "blackbox", "bim", lo, rule).values()))[0]
    top = {m: stat(list(per_seed(rows, m, "blackbox", "bim", hi, rule).values()))[0] for m in [*METHODS, *K_METHODS]}
    top = {m: v for m, v in top.items() if not math.isnan(v)}
    if math.isnan(u_lo) or not top:
        _say("C0 calibration: awaiting seeds")
    else:
        ok0 = u_lo / u_clean >= 0.5 and all(v < 0.10 for v in top.values())
        _say(f"C0 calibration: unprotected BIM at ε={lo:g} keeps {u_lo / u_clean:.2f} of clean; at ε={hi:g} "
             + ", ".join(f"{m} {100 * v:.1f} %" for m, v in top.items()) + f": {'met' if ok0 else 'NOT met'}")
    low = [(r["method"], r["seed"], r["accuracy"]) for r in rows
           if r["setting"] == "clean" and r["rule"] == rule and r["accuracy"] < 0.85]
    _say(f"C1 clean test accuracy >= 0.85: {'met' if not low else f'NOT met {low}'}")


def diversity(path: Path) -> None:
    """H5 (Fig. 2): mean CKA and gradient cosine per method, and the paired U − PARL difference of mean CKA."""
    if not path.exists():
        _say("\nH5 CKA: diversity.csv absent: awaiting seeds")
        return
    with path.open() as f:
        div = [r for r in csv.DictReader(f) if r["layer"] == "all"]
    for measure in ("cka_mean", "grad_cos"):
        vals = {m: {int(r["seed"]): float(r["value"]) for r in div if r["method"] == m and r["measure"] == measure}
                for m in [*METHODS, "parl-5", "parl-3"]}
        _say(f"\n{measure}: " + "; ".join(f"{m} {stat(list(v.values()))[0]:.3f}" for m, v in vals.items() if v))
        if measure == "cka_mean":
            u, p = vals["unprotected"], vals["parl"]
            d = [u[s] - p[s] for s in sorted(set(u) & set(p))]
            mean, _, ci, n = stat(d)
            c = cell(mean, ci)
            v = {"better": "holds", "n/a": "awaiting seeds"}.get(c, "weaker" if mean > 0 else "does not hold")
            _say(f"H5 CKA U − PARL {mean:+.3f} ± {ci:.3f} (n={n}): {v}")


def read_curves(path: Path, column: str) -> dict[str, dict[int, list[float]]]:
    """curves.csv (``figures.py --collect``) as {method: {epoch: [``column`` per seed]}}."""
    out: dict[str, dict[int, list[float]]] = {}
    with path.open() as f:
        for r in csv.DictReader(f):
            out.setdefault(r["method"], {}).setdefault(int(r["epoch"]), []).append(float(r[column]))
    return out


def convergence(path: Path) -> None:
    """Learning curves (``curves.csv``, written by ``figures.py --collect``): each target's mean validation accuracy
    (vote) over seeds at its last three epochs. Reporting only (added after the sweep): no reading depends on it."""
    if not path.exists():
        _say("\nconvergence: curves.csv absent")
        return
    _say("\nconvergence: mean validation accuracy % (vote) at the last three epochs")
    curves = read_curves(path, "val_ens_acc_vote")
    for m in sorted(curves):
        by_epoch = curves[m]
        last = sorted(by_epoch)[-3:]
        vals = " → ".join(f"{100 * stat(by_epoch[e])[0]:.1f}" for e in last)
        _say(f"{m:12s} epochs {last[0]}–{last[-1]}: {vals} (n={len(by_epoch[last[-1]])})")


def report(rows: Rows, div_path: Path) -> None:
    """Every README number and reading: primary rule vote (seed 002), then mean probability."""
    for rule in ("vote", "mean"):
        _say(f"\n## rule: {rule}")
        for setting in ("blackbox", "whitebox"):
            for e in sorted({EPS_PAPER, EPS_MID}):
                table(rows, setting, e, rule, [*METHODS, "parl-5", "parl-3"])
        curves(rows, "blackbox", rule, [*METHODS, "parl-5", "parl-3"], EPS_GRID)
        curves(rows, "whitebox", rule, METHODS, WB_EPS)
        _say(f"\n### readings ({rule})")
        checks(rows, rule)
        clean_claims(rows, rule)
        iterative = ["bim", "mim", "pgd"]
        parl4 = ["parl"] * 4
        comparison(rows, "H1 Table 1 black-box ε = 0.07", parl4, BASELINES, "blackbox", iterative, [EPS_PAPER], rule)
        comparison(rows, "H1' Table 1 black-box ε_mid", parl4, BASELINES, "blackbox", iterative, [EPS_MID], rule)
        comparison(rows, "H3 Fig. 3 black-box, upper ε", parl4, BASELINES, "blackbox", iterative, EPS_UPPER, rule)
        comparison(rows, "H3b FGSM PARL vs DVERGE (at par = ties)", ["parl"], ["dverge"], "blackbox", ["fgsm"],
                   EPS_UPPER, rule, at_par=True)
        comparison(rows, "H4 Fig. 4 white-box", parl4, BASELINES, "whitebox", ATTACKS, WB_EPS, rule)
        pgd = stat(list(per_seed(rows, "parl", "whitebox", "pgd", EPS_MID, rule).values()))[0]
        clean = stat(list(per_seed(rows, "parl", "clean", "clean", 0.0, rule).values()))[0]
        low = "awaiting seeds" if math.isnan(pgd) else "holds" if pgd < clean / 2 else "does not hold"
        _say(f"H4b white-box 'still quite low': PARL PGD at ε={EPS_MID:g} {100 * pgd:.1f} % vs clean "
             f"{100 * clean:.1f} %: {low}")
        comparison(rows, "H7 Fig. 5 K ablation (/7 > /5 > /3)", ["parl", "parl-5"], ["parl-5", "parl-3"],
                   "blackbox", ATTACKS, EPS_UPPER, rule)
    diversity(div_path)
    convergence(div_path.with_name("curves.csv"))


def _method(label: str) -> str:
    return label.lower().replace("/", "-")


def collect(run_dirs: Sequence[Path], runs: Path, div_path: Path) -> None:
    """Build runs.csv and diversity.csv from the runs' results.json; a repeated row must agree."""
    out: dict[tuple, float] = {}
    div: list[dict] = []
    for d in run_dirs:
        res = json.loads((d / "results.json").read_text())
        for r in res["records"]:
            row = {**r, "method": _method(r["method"]), "attack": r["attack"].replace("_", "-")}
            key = tuple(row[k] for k in FIELDS[:-1])
            if key in out and abs(out[key] - row["accuracy"]) > 1e-12:
                raise ValueError(f"{d}: row {key} disagrees with an earlier run")
            out[key] = row["accuracy"]
        for rep in res["repeats"]:
            for label, c in rep.get("cka", {}).items():
                div.append(dict(seed=rep["seed"], method=_method(label), measure="cka_mean", layer="all",
                                value=c["mean"]))
            for label, g in rep.get("grad_similarity", {}).items():
                if g["mean_offdiag"] is not None:
                    div.append(dict(seed=rep["seed"], method=_method(label), measure="grad_cos", layer="all",
                                    value=g["mean_offdiag"] / len(rep["grad_similarity_layers"])))
    with runs.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(FIELDS)
        w.writerows([*k, v] for k, v in sorted(out.items(), key=lambda kv: tuple(map(str, kv[0]))))
    with div_path.open("w", newline="") as f:
        dw = csv.DictWriter(f, DIV_FIELDS)
        dw.writeheader()
        dw.writerows(div)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--collect", nargs="+", type=Path, metavar="RUN_DIR")
    p.add_argument("--runs", type=Path, default=HERE / "runs.csv")
    a = p.parse_args(argv)
    div_path = a.runs.with_name("diversity.csv")
    if a.collect:
        collect(a.collect, a.runs, div_path)
    if not a.runs.exists():
        sys.stderr.write(f"{a.runs} does not exist: no study seed has been collected yet (README, Status)\n")
        return 1
    report(load(a.runs), div_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
