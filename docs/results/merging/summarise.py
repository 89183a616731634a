"""Every number of docs/results/merging/README.md (merging study v2, seed 003, issue 20).

    .venv/bin/python docs/results/merging/summarise.py                      # reads runs.csv next to this file
    .venv/bin/python docs/results/merging/summarise.py --csv other.csv      # another runs.csv
    .venv/bin/python docs/results/merging/summarise.py --collect RUN_DIR [RUN_DIR ...] [--to runs.csv]
    .venv/bin/python docs/results/merging/summarise.py --pilot              # the README's pilot table (pilot/)

runs.csv: one row per seed × setting × method × level with ``seed``, ``setting`` (parents' data: same, disjoint,
overlapping-<f>), ``method`` (a merge variant such as ``mega-scalar``, or ``ensemble`` — the output ensemble, mean of
the parents' probabilities — or ``best-parent-val`` — the parent with the highest validation accuracy), ``level``
(``pair``: members 0 and 1; ``hierarchy``: 8 → 1), ``val_acc``, ``test_acc`` and ``best_parent_test_acc`` (the best
parent by TEST accuracy, the paper's "above both / all parents" yardstick); optional ``seconds`` and
``rss_peak_mib`` (merge cost), ``parents_test_mean`` and, for MeGA, three descriptive figures averaged over its
merges (1 for a pair, 7 for a hierarchy): ``alpha_end_dist`` (scalar genome: distance of the returned α to the nearer
parent, min(α, 1 − α)), ``gen1_share`` (share of merges whose returned individual was first scored in generation 1)
and ``ga_gain`` (best fitness returned minus the best fitness of generation 1: what the generations added, Fig. 2).

Pre-registered analysis (README "Hypotheses"): for each setting × level and each method, Δ = test accuracy minus a
reference, paired by seed, summarised by its mean over seeds, the two-sided 95 % Student-t interval of that mean and
the number of seeds with Δ > 0. Verdict of "method beats reference": ``holds`` when mean Δ ≥ +0.005 and the
interval's lower end > 0; ``does not hold`` when mean Δ ≤ −0.005 or the interval's upper end < 0; ``weaker``
otherwise (no demonstrable gain, no demonstrable loss).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from scipy.stats import t as student_t

HERE = Path(__file__).resolve().parent
COLUMNS = ("seed", "setting", "method", "level", "val_acc", "test_acc", "best_parent_test_acc")
EXTRA = ("seconds", "rss_peak_mib", "parents_test_mean", "alpha_end_dist", "gen1_share", "ga_gain")
HEADLINE = "mega-scalar"  # the paper's configuration: scalar α, no alignment, no BatchNorm repair
MARGIN = 0.005
REFERENCES = ("best-parent-test", "best-parent-val", "average", "ensemble")


# ------------------------------------------------------------------------------------------------ collect
def _setting(cfg: dict) -> str:
    p = cfg.get("parents") or {}
    data = p.get("data", "same")
    return f"overlapping-{p['fraction']:g}" if data == "overlapping" else data


def _mega_figures(r: dict) -> dict:
    """alpha_end_dist, gen1_share, ga_gain of one MeGA variant (pair: its history; hierarchy: every level's merges)."""
    hist = [r["history"]] if "history" in r else [m["history"] for lv in r.get("levels", []) for m in lv
                                                   if m.get("history")]
    if not hist:
        return {}
    alphas = [h["alpha"] for h in hist if isinstance(h.get("alpha"), float)]
    out = {"gen1_share": sum(h["best_generation"] == 1 for h in hist) / len(hist),
           "ga_gain": sum(h["best_fitness"] - h["best"][0] for h in hist) / len(hist)}
    if alphas:
        out["alpha_end_dist"] = sum(min(a, 1 - a) for a in alphas) / len(alphas)
    return out


def _level_rows(seed: int, setting: str, level: str, block: dict) -> list[dict]:
    parents = block["parents"]
    best_test = max(p["test_acc"] for p in parents)
    mean_test = sum(p["test_acc"] for p in parents) / len(parents)
    chosen = max(parents, key=lambda p: p["val_acc"])  # first of ties, as max() does
    base = {"seed": seed, "setting": setting, "level": level, "best_parent_test_acc": best_test,
            "parents_test_mean": mean_test}
    rows = [{**base, "method": "best-parent-val", "val_acc": chosen["val_acc"], "test_acc": chosen["test_acc"]},
            {**base, "method": "ensemble", "val_acc": block.get("ensemble_val_acc", ""),
             "test_acc": block["ensemble_test_acc"]}]
    for name, r in block["merged"].items():
        cost = r.get("cost") or {}
        rss = cost.get("rss_peak_delta_bytes")
        rows.append({**base, "method": name, "val_acc": r["val_acc"], "test_acc": r["test_acc"],
                     "seconds": r.get("seconds", ""), "rss_peak_mib": "" if rss is None else rss / 2**20,
                     **_mega_figures(r)})
    return rows


def collect(dirs: Sequence[Path]) -> list[dict]:
    """Rows of runs.csv from run directories (their config.yaml and results.json); a level with no merged
    variants (e.g. the pair of an 8-parent disjoint run whose pair is studied in a 2-parent run) is left out."""
    rows: list[dict] = []
    for d in dirs:
        cfg = yaml.safe_load((d / "config.yaml").read_text())
        res = json.loads((d / "results.json").read_text())
        for level in ("pair", "hierarchy"):
            if level in res and res[level]["merged"]:
                rows += _level_rows(int(cfg["seed"]), _setting(cfg), level, res[level])
    return rows


def write_csv(rows: list[dict], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[*COLUMNS, *EXTRA], extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


# ------------------------------------------------------------------------------------------------ analyse
def read_csv(path: Path) -> list[dict]:
    with path.open() as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in COLUMNS if rows and c not in rows[0]]
    if missing:
        raise SystemExit(f"{path}: missing columns {missing}; expected {list(COLUMNS)}")
    for r in rows:
        r["seed"] = int(r["seed"])
        for k in ("val_acc", "test_acc", "best_parent_test_acc", *EXTRA):
            r[k] = float(r[k]) if r.get(k) not in (None, "") else None
    return rows


def interval(deltas: Sequence[float]) -> tuple[float, float, float]:
    """Mean and two-sided 95 % Student-t interval of the mean (the interval is the mean itself for one value)."""
    n = len(deltas)
    mean = sum(deltas) / n
    if n < 2:
        return mean, mean, mean
    sd = math.sqrt(sum((d - mean) ** 2 for d in deltas) / (n - 1))
    half = float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return mean, mean - half, mean + half


def verdict(mean: float, lo: float, hi: float) -> str:
    if mean >= MARGIN and lo > 0:
        return "holds"
    if mean <= -MARGIN or hi < 0:
        return "does not hold"
    return "weaker"


def _reference(rows: list[dict], ref: str) -> dict[int, float]:
    if ref == "best-parent-test":
        return {r["seed"]: r["best_parent_test_acc"] for r in rows}
    return {r["seed"]: r["test_acc"] for r in rows if r["method"] == ref}


def compare(rows: list[dict], method: str, ref: str) -> dict | None:
    """Δ = test(method) − test(ref) paired by seed, within one setting × level."""
    mine = {r["seed"]: r["test_acc"] for r in rows if r["method"] == method}
    other = _reference(rows, ref)
    seeds = sorted(set(mine) & set(other))
    if not seeds or method == ref:
        return None
    d = [mine[s] - other[s] for s in seeds]
    mean, lo, hi = interval(d)
    return {"n": len(d), "mean": mean, "lo": lo, "hi": hi, "wins": sum(x > 0 for x in d),
            "verdict": verdict(mean, lo, hi)}


def _fmt(v: float | None, signed: bool = False) -> str:
    return "" if v is None else (f"{v:+.3f}" if signed else f"{v:.3f}")


def _mean(xs: list[float | None]) -> float | None:
    xs = [x for x in xs if x is not None]
    return sum(xs) / len(xs) if xs else None


def report_group(rows: list[dict], setting: str, level: str) -> list[str]:
    seeds = sorted({r["seed"] for r in rows})
    methods = list(dict.fromkeys(r["method"] for r in rows))
    lines = [f"## {setting} / {level} ({len(seeds)} seeds: {', '.join(map(str, seeds))})", ""]
    bp = {r["seed"]: r["best_parent_test_acc"] for r in rows}
    pm = _mean([r.get("parents_test_mean") for r in rows])
    lines.append(f"best parent (test) mean {_fmt(_mean(list(bp.values())))}; parents' mean test accuracy {_fmt(pm)}")
    lines += ["", "| method | val acc | test acc | " + " | ".join(f"Δ vs {r}" for r in REFERENCES)
              + " | seconds | RSS peak MiB |", "|---" * (5 + len(REFERENCES)) + "|"]
    for m in methods:
        mr = [r for r in rows if r["method"] == m]
        cells = []
        for ref in REFERENCES:
            c = compare(rows, m, ref)
            cells.append("" if c is None else f"{c['mean']:+.3f} [{c['lo']:+.3f}, {c['hi']:+.3f}] "
                                              f"{c['wins']}/{c['n']} {c['verdict']}")
        lines.append(f"| {m} | {_fmt(_mean([r['val_acc'] for r in mr]))} | {_fmt(_mean([r['test_acc'] for r in mr]))}"
                     f" | {' | '.join(cells)} | {_fmt(_mean([r.get('seconds') for r in mr]))}"
                     f" | {_fmt(_mean([r.get('rss_peak_mib') for r in mr]))} |")
    return [*lines, ""]


def claims(rows: list[dict]) -> list[str]:
    """The pre-registered verdicts for the headline method (README "Hypotheses")."""
    out = ["## Verdicts for the headline (mega-scalar: scalar α, no alignment, no BN repair)", ""]
    for (setting, level) in sorted({(r["setting"], r["level"]) for r in rows}):
        g = [r for r in rows if (r["setting"], r["level"]) == (setting, level)]
        for ref in REFERENCES:
            c = compare(g, HEADLINE, ref)
            if c is not None:
                out.append(f"- {setting} / {level}: {HEADLINE} vs {ref}: Δ {c['mean']:+.3f} "
                           f"[{c['lo']:+.3f}, {c['hi']:+.3f}], {c['wins']}/{c['n']} seeds > 0 → **{c['verdict']}**")
    return [*out, ""]


def descriptive(rows: list[dict]) -> list[str]:
    """Not pre-registered: where MeGA's returned individual sits and what the generations added (means over seeds)."""
    out = ["## Descriptive (not pre-registered): MeGA's returned individual", "",
           "| setting / level | method | min(α, 1 − α) | share from generation 1 | fitness gain over generation 1 |",
           "|---|---|---|---|---|"]
    for setting, level, m in sorted({(r["setting"], r["level"], r["method"]) for r in rows if "mega" in r["method"]}):
        g = [r for r in rows if (r["setting"], r["level"], r["method"]) == (setting, level, m)]
        out.append(f"| {setting} / {level} | {m} | {_fmt(_mean([r.get('alpha_end_dist') for r in g]))} | "
                   f"{_fmt(_mean([r.get('gen1_share') for r in g]))} | {_fmt(_mean([r.get('ga_gain') for r in g]))} |")
    return [*out, ""]


def cost(times: Path) -> list[str]:
    """Total CPU time of the study runs from ``/usr/bin/time`` lines (``<run> cpu_user_s=.. cpu_sys_s=.. ...``)."""
    if not times.exists():
        return []
    runs = [dict(x.split("=", 1) for x in line.split()[1:]) for line in times.read_text().splitlines() if line.strip()]
    cpu = sum(float(r["cpu_user_s"]) + float(r["cpu_sys_s"]) for r in runs)
    wall = sum(float(r["wall_s"]) for r in runs)
    return [f"## Cost: {len(runs)} runs, {cpu:.0f} CPU s = {cpu / 3600:.3f} core-hours (wall {wall:.0f} s)", ""]


def summarise(rows: list[dict], times: Path | None = None) -> str:
    lines = ["# Merging study v2: every number the README quotes", "", *cost(times or HERE / "runs" / "times.txt")]
    for setting, level in sorted({(r["setting"], r["level"]) for r in rows}):
        lines += report_group([r for r in rows if (r["setting"], r["level"]) == (setting, level)], setting, level)
    return "\n".join(lines + claims(rows) + descriptive(rows))


def pilot(folder: Path) -> str:
    """The pilot table of the README from ``folder/<config>-s0/results.json`` and ``folder/times.txt``."""
    times = {}
    for line in (folder / "times.txt").read_text().splitlines():
        name, *kv = line.split()
        times[name] = dict(x.split("=", 1) for x in kv)
    lines = ["| run | level | parents (test) | output ensemble | mega-scalar | aligned-mega-scalar | average | "
             "MeGA seconds | RSS peak Δ MiB | CPU s | wall |", "|---" * 11 + "|"]
    for d in sorted(p for p in folder.iterdir() if p.is_dir()):
        res, t = json.loads((d / "results.json").read_text()), times.get(d.name, {})
        cpu = float(t.get("cpu_user_s", "nan")) + float(t.get("cpu_sys_s", "nan"))
        for level in ("pair", "hierarchy"):
            if level not in res or not res[level]["merged"]:
                continue
            b, m = res[level], res[level]["merged"]
            acc = [p["test_acc"] for p in b["parents"]]
            mega = [r["seconds"] for k, r in m.items() if "mega" in k]
            rss = [(r["cost"]["rss_peak_delta_bytes"] or 0) / 2**20 for r in m.values()]
            lines.append(f"| {d.name} | {level} | {min(acc):.3f}–{max(acc):.3f} (mean {sum(acc) / len(acc):.3f}) | "
                         f"{b['ensemble_test_acc']:.3f} | {m['mega-scalar']['test_acc']:.3f} | "
                         f"{m['aligned-mega-scalar']['test_acc']:.3f} | {m['average']['test_acc']:.3f} | "
                         f"{min(mega):.1f}–{max(mega):.1f} | {min(rss):.0f}–{max(rss):.0f} | {cpu:.0f} | "
                         f"{t.get('wall', '')} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--csv", type=Path, default=HERE / "runs.csv", help="runs.csv to summarise")
    ap.add_argument("--collect", type=Path, nargs="+", help="run directories to turn into a runs.csv")
    ap.add_argument("--to", type=Path, default=HERE / "runs.csv", help="where --collect writes")
    ap.add_argument("--pilot", action="store_true", help="print the pilot table from pilot/")
    args = ap.parse_args(argv)
    if args.pilot:
        sys.stdout.write(pilot(HERE / "pilot") + "\n")
        return 0
    if args.collect:
        rows = collect(args.collect)
        write_csv(rows, args.to)
        sys.stdout.write(f"wrote {len(rows)} rows to {args.to}\n")
        return 0
    sys.stdout.write(summarise(read_csv(args.csv)) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
