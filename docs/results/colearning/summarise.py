"""Every number of docs/results/colearning/README.md (co-learning study v2, seed 000, issue 18).

    .venv/bin/python docs/results/colearning/summarise.py                      # reads <arm>/runs.csv, prints Markdown
    .venv/bin/python docs/results/colearning/summarise.py --export runs/colearn-v2-mlp/results.sqlite \
        [more.sqlite ...] --to docs/results/colearning/mlp/runs.csv            # flatten sweeps into one runs.csv

Pre-registered analysis (README "Tests"): β* of each N is the argmax over β of the seed-mean VALIDATION ensemble
accuracy (mean rule), over all β and, for the scaling fit, over β < 0 only; test figures are only reported. The gain
is test accuracy at β minus at β = 0, paired by seed: two-sided exact Wilcoxon signed-rank, percentile bootstrap 95 %
CI of the mean over seeds, Holm correction over the β ≠ 0 of each N (one variant, one rule). The scaling fit is OLS
of log|β*| on log N with a bootstrap CI that resamples seeds jointly across N. Diverged runs stay in every accuracy
figure as recorded (evaluated at their last finite state) and leave the structural comparisons.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sqlite3
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import wilcoxon

HERE = Path(__file__).resolve().parent
ARMS = ("mlp", "cnn")
RULES = {"mean": "ens_acc_mean", "geometric": "ens_acc_geometric", "vote": "ens_acc_vote"}
TARGET = {"mlp": 0.62, "cnn": 0.85}  # mean member test accuracy at β = 0 (issue 18 point 1)
WINDOWS = ((1, 10), (10, 50), (50, 150), (150, 300), (300, 600))  # epochs, for |Δ accuracy| per epoch (Fig S2b)
STRUCT = {  # (Fig / Table, column)
    "JS between members (Fig 4a)": "test.mean_js",
    "member accuracy (Fig 2c)": "test.member_acc_mean",
    "wall fraction (Fig 5a)": "analysis.test.wall_fraction",
    "member entropy (Fig 5b)": "analysis.test.member_entropy_mean",
    "low-entropy fraction (Fig 5b, S5)": "analysis.test.member_low_entropy_fraction",
    "voters Spearman r (Fig 5c)": "analysis.test.voters_spearman_r",
    "val member |Δacc|/epoch, last 20 % (Fig 2a)": "val.member_acc_fluct_last20",
}
LAYERED = {"analysis.test.inactive_fraction.": "inactive fraction (Fig 6a, S3)",
           "analysis.test.mean_activation.": "mean activation (Fig 6b, S3)",
           "analysis.test.weight_std.": "weight std (Fig 6c, S4)"}  # one row per layer the runs recorded
B_BOOT = 10_000
RNG_SEED = 0


# ----------------------------------------------------------------------------------------------------- export
def curve_stats(metrics: Path) -> dict[str, float]:
    """Learning-curve figures of one run from its metrics.jsonl (validation member accuracy per epoch):
    ``change_last20`` (least-squares slope × window over the last 20 % of epochs: flatness), ``fluct_last20`` (mean
    |Δ| between consecutive epochs there, averaged over members) and ``abs_change.e<a>-<b>`` per window (Fig S2b)."""
    recs = [json.loads(x) for x in metrics.read_text().splitlines() if x.strip()]
    acc = np.array([r["val_member_acc"] for r in recs if "val_member_acc" in r], dtype=float)  # (E, N)
    if len(acc) < 3:
        return {}
    mean = acc.mean(axis=1)
    k = max(2, round(0.2 * len(mean)))
    step = np.abs(np.diff(acc, axis=0)).mean(axis=1)  # (E-1,): |Δ| from epoch e-1 to e, members averaged
    out = {"val.member_acc_change_last20": float(np.polyfit(np.arange(k), mean[-k:], 1)[0] * (k - 1)),
           "val.member_acc_fluct_last20": float(step[-(k - 1):].mean())}
    for a, b in WINDOWS:
        if len(step) >= b - 1:  # step[a-1:b-1] needs b-1 steps: a 300-epoch run (300 records) has e150-300
            out[f"val.abs_change.e{a}-{b}"] = float(step[a - 1:b - 1].mean())
    return out


def load_sqlite(path: Path) -> pd.DataFrame:
    """One row per finished run of a sweep: results flattened to dotted columns, plus ``model``, ``log_floor``,
    ``lr``, ``optimizer`` from its config and the learning-curve figures of :func:`curve_stats` when the run
    directory is beside the database."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    rows = con.execute("SELECT name, seed, config, results, run_dir FROM runs WHERE status = 'finished'").fetchall()
    con.close()
    recs = []
    for name, seed, config, res, run_dir in rows:
        r, c = json.loads(res), json.loads(config)
        r.get("analysis", {}).pop("per_member", None)
        for part in ("val", "test"):
            for k in ("member_acc", "member_kl"):
                r.get(part, {}).pop(k, None)
        r.pop("best", None)
        r.pop("weights", None)
        rec = {"name": name, "seed": seed, "model": c["model"]["name"],
               "log_floor": (c.get("objective", {}).get("params") or {}).get("log_floor"),
               "optimizer": c["optimizer"]["name"], "lr": c["optimizer"]["lr"],
               **pd.json_normalize(r).iloc[0].to_dict()}
        for d in (Path(run_dir or ""), path.parent / "runs" / name):
            if (d / "metrics.jsonl").exists():
                rec.update(curve_stats(d / "metrics.jsonl"))
                break
        recs.append(rec)
    df = pd.DataFrame(recs).rename(columns={"n_members": "N"})
    if "diverged" in df:
        df["diverged"] = df["diverged"].fillna(False).astype(bool)
    return df


def export(sources: Sequence[Path], dest: Path) -> pd.DataFrame:
    """Flatten one or more sweeps' results.sqlite into ``dest`` (CSV, one row per run, sorted)."""
    df = pd.concat([load_sqlite(s) for s in sources], ignore_index=True)
    keys = [k for k in ("log_floor", "N", "beta", "seed") if k in df]
    df = df.sort_values(keys, na_position="first").reset_index(drop=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(dest, index=False)
    return df


# ------------------------------------------------------------------------------------------------------ tests
def wilcoxon_p(d: np.ndarray) -> float:
    """Two-sided exact Wilcoxon signed-rank p of paired differences (zeros dropped; none left: 1)."""
    d = np.asarray(d, dtype=float)
    d = d[d != 0]
    return 1.0 if len(d) == 0 else float(wilcoxon(d).pvalue)


def holm(p: Sequence[float]) -> list[float]:
    """Holm step-down adjusted p-values, in the input order."""
    p = np.asarray(p, dtype=float)
    m = len(p)
    order = np.argsort(p, kind="stable")
    adj = np.empty(m)
    running = 0.0
    for i, j in enumerate(order):
        running = max(running, min(1.0, (m - i) * p[j]))
        adj[j] = running
    return adj.tolist()


def bootstrap_ci(d: np.ndarray, b: int = B_BOOT, seed: int = RNG_SEED) -> tuple[float, float]:
    """Percentile bootstrap 95 % CI of the mean of ``d`` (seeds resampled with replacement)."""
    d = np.asarray(d, dtype=float)
    idx = np.random.default_rng(seed).integers(0, len(d), size=(b, len(d)))
    means = d[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def table(df: pd.DataFrame, n: int, col: str) -> pd.DataFrame:
    """Seeds × β matrix of ``col`` at ensemble size ``n`` (NaN where a run is missing)."""
    return df[df["N"] == n].pivot_table(index="seed", columns="beta", values=col, aggfunc="first").sort_index(axis=1)


def optimum(df: pd.DataFrame, n: int, col: str = "val.ens_acc_mean", negative_only: bool = False) -> float:
    """β* = argmax over β of the seed-mean ``col`` (validation) at ensemble size ``n``; β < 0 only if asked."""
    curve = table(df, n, col).mean(axis=0)
    if negative_only:
        curve = curve[curve.index < 0]
    return float(curve.idxmax())


def gains(df: pd.DataFrame, n: int, rule: str = "mean") -> pd.DataFrame:
    """Test gain over β = 0 for every β ≠ 0 at size ``n``: mean, bootstrap CI, seeds better/worse, p, Holm p."""
    t = table(df, n, f"test.{RULES[rule]}")
    rows = []
    for b in [x for x in t.columns if x != 0]:
        d = (t[b] - t[0.0]).dropna().to_numpy()
        lo, hi = bootstrap_ci(d)
        rows.append({"beta": b, "gain": d.mean(), "ci_lo": lo, "ci_hi": hi, "better": int((d > 0).sum()),
                     "worse": int((d < 0).sum()), "seeds": len(d), "p": wilcoxon_p(d)})
    out = pd.DataFrame(rows)
    out["p_holm"] = holm(out["p"].tolist())
    return out


def slope_fit(df: pd.DataFrame, sizes: Sequence[int], col: str = "val.ens_acc_mean") -> tuple[float, float]:
    """(slope, intercept) of the OLS fit of log|β*_neg(N)| on log N (natural logs)."""
    y = [np.log(-optimum(df, n, col, negative_only=True)) for n in sizes]
    slope, icpt = np.polyfit(np.log(sizes), y, 1)
    return float(slope), float(icpt)


def slope_ci(df: pd.DataFrame, sizes: Sequence[int], col: str = "val.ens_acc_mean", b: int = 2000,
             seed: int = RNG_SEED) -> tuple[float, float]:
    """Bootstrap 95 % CI of the slope: seeds resampled jointly across N, β*_neg re-located on the resampled means."""
    mats = [table(df, n, col) for n in sizes]
    seeds = sorted(set.intersection(*(set(m.index) for m in mats)))
    idx = np.random.default_rng(seed).integers(0, len(seeds), size=(b, len(seeds)))
    logs = []
    for m in mats:
        neg = m.loc[seeds, [c for c in m.columns if c < 0]]
        curves = np.nanmean(neg.to_numpy()[idx], axis=1)  # (b, β)
        logs.append(np.log(-np.asarray(neg.columns, dtype=float)[np.nanargmax(curves, axis=1)]))
    x = np.log(np.asarray(sizes, dtype=float))
    y = np.stack(logs, axis=1)  # (b, len(sizes))
    xc = x - x.mean()
    slopes = (y - y.mean(axis=1, keepdims=True)) @ xc / (xc @ xc)
    return float(np.percentile(slopes, 2.5)), float(np.percentile(slopes, 97.5))


# --------------------------------------------------------------------------------------------------- printing
def out(*parts: object) -> None:
    """Write one Markdown block to stdout."""
    sys.stdout.write("".join(str(x) for x in parts) + "\n")


def md(rows: list[dict[str, object]]) -> str:
    if not rows:
        return "(none)\n"
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(r[c]) for c in cols) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def ms(s: pd.Series | np.ndarray, scale: float = 1.0, nd: int = 3) -> str:
    s = pd.Series(s, dtype=float).dropna()
    return "n/a" if s.empty else f"{s.mean() * scale:.{nd}f} ± {s.std(ddof=1) * scale:.{nd}f}"


def variants(df: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Exact eq. (1) (no log floor) and each log-floor variant."""
    lf = df["log_floor"] if "log_floor" in df else pd.Series(np.nan, index=df.index)
    res = {"exact eq. (1)": df[lf.isna()]}
    exact = res["exact eq. (1)"]
    for v in sorted(lf.dropna().unique()):
        g = df[lf == v]
        # a sub-grid without β = 0 takes the exact runs' β = 0 of its N and seeds: at β = 0 the coupling term (and
        # so its floor) vanishes, so those runs are the floor variant's own baseline
        if not (g.beta == 0).any():
            base = exact[(exact.beta == 0) & exact["N"].isin(set(g["N"])) & exact.seed.isin(set(g.seed))]
            g = pd.concat([g, base.assign(log_floor=v)], ignore_index=True)
        res[f"log_floor {v:g}"] = g
    return {k: v for k, v in res.items() if len(v)}


def cliff(g: pd.DataFrame, n: int) -> float | None:
    """Collapse point: the least negative β at which at least half the runs diverged or the seed-mean test ensemble
    accuracy is more than 5 pp below β = 0's (None: no collapse on the grid)."""
    t, dv = table(g, n, "test.ens_acc_mean"), table(g, n, "diverged").astype(float)
    base = t[0.0].mean() if 0.0 in t else np.nan
    for b in sorted([c for c in t.columns if c < 0], reverse=True):
        if dv[b].mean() >= 0.5 or t[b].mean() < base - 0.05:
            return float(b)
    return None


def section_recipe(arm: str, df: pd.DataFrame) -> None:
    out(f"### {arm}: recipe check at β = 0 (target mean member test accuracy ≥ {TARGET[arm]})\n")
    rows = []
    for n, g in df[df.beta == 0].groupby("N"):
        ch = g.get("val.member_acc_change_last20", pd.Series(dtype=float))
        rows.append({"N": n, "seeds": len(g), "test member": ms(g["test.member_acc_mean"]),
                     "meets target": f"{int((g['test.member_acc_mean'] >= TARGET[arm]).sum())}/{len(g)} seeds, "
                                     f"mean {'yes' if g['test.member_acc_mean'].mean() >= TARGET[arm] else 'NO'}",
                     "test ens": ms(g["test.ens_acc_mean"]),
                     "val change last 20 % (pp)": ms(ch, 100, 2),
                     "max |change| (pp)": f"{ch.abs().max() * 100:.2f}" if ch.notna().any() else "n/a",
                     "train s / run": f"{g['train_seconds'].mean():.1f}",
                     "wall s / run": f"{g['wall_seconds'].mean():.1f}" if "wall_seconds" in g else "n/a"})
    out(md(rows))


def section_accuracy(arm: str, name: str, df: pd.DataFrame) -> None:
    out(f"### {arm}, {name}: accuracy against raw β (mean ± std over seeds; ensemble = mean rule)\n")
    rows = []
    for (n, b), g in df.groupby(["N", "beta"]):
        rows.append({"N": n, "β": b, "β̄ = Nβ": f"{n * b:g}", "diverged": f"{int(g.diverged.sum())}/{len(g)}",
                     "val ens": ms(g["val.ens_acc_mean"]), "test ens": ms(g["test.ens_acc_mean"]),
                     "test member": ms(g["test.member_acc_mean"]),
                     "ens − member (pp)": ms(g["test.ens_acc_mean"] - g["test.member_acc_mean"], 100, 1)})
    out(md(rows))


def section_optimum(arm: str, name: str, df: pd.DataFrame, rule: str = "mean") -> None:
    out(f"### {arm}, {name}, rule {rule}: β* located on validation; test gain over β = 0 (pp)\n")
    rows, key = [], RULES[rule]
    for n in sorted(df["N"].unique()):
        gt = gains(df, n, rule).set_index("beta")
        b_all, b_neg = optimum(df, n, f"val.{key}"), optimum(df, n, f"val.{key}", negative_only=True)
        r = gt.loc[b_neg]
        sig = gt[(gt.p_holm < 0.05) & (gt.gain > 0)]
        negs = sorted(b for b in gt.index if b < 0)
        edge = "yes" if b_neg in (negs[0], negs[-1]) else "no"
        rows.append({"N": n, "β* (all β)": f"{b_all:g}", "β*_neg": f"{b_neg:g}", "β̄*_neg": f"{n * b_neg:.3g}",
                     "window": f"[{negs[0]:g}, {negs[-1]:g}]", "β*_neg at window edge": edge,
                     "gain at β*_neg": f"{r.gain * 100:+.2f} [{r.ci_lo * 100:+.2f}, {r.ci_hi * 100:+.2f}]",
                     "better/worse": f"{int(r.better)}/{int(r.worse)} of {int(r.seeds)}", "p": f"{r.p:.3g}",
                     "Holm p": f"{r.p_holm:.3g}",
                     "β with gain > 0 at Holm p < 0.05": ", ".join(f"{b:g}" for b in sig.index) or "none"})
    out(md(rows))


def section_gains(arm: str, name: str, df: pd.DataFrame) -> None:
    out(f"### {arm}, {name}: every β against β = 0 (test, mean rule, pp; Holm over the β of each N)\n")
    rows = []
    for n in sorted(df["N"].unique()):
        for _, r in gains(df, n).iterrows():
            rows.append({"N": n, "β": f"{r.beta:g}", "gain": f"{r.gain * 100:+.2f}",
                         "95 % CI": f"[{r.ci_lo * 100:+.2f}, {r.ci_hi * 100:+.2f}]",
                         "better/worse": f"{int(r.better)}/{int(r.worse)}", "p": f"{r.p:.3g}",
                         "Holm p": f"{r.p_holm:.3g}"})
    out(md(rows))


def section_scaling(arm: str, name: str, df: pd.DataFrame) -> None:
    sizes = sorted(int(n) for n in df["N"].unique())
    if len(sizes) < 2:
        return
    slope, icpt = slope_fit(df, sizes)
    lo, hi = slope_ci(df, sizes)
    bs = {n: optimum(df, n, negative_only=True) for n in sizes}
    out(f"### {arm}, {name}: scaling of β*_neg with N (Fig 3c)\n")
    out("β*_neg per N: " + ", ".join(f"N={n}: {b:g}" for n, b in bs.items()))
    out(f"\nOLS log|β*| = {slope:.3f} · log N {icpt:+.3f}; bootstrap 95 % CI of the slope [{lo:.3f}, {hi:.3f}] "
        f"(paper: −0.99 ± 0.18); CI contains −0.99: {'yes' if lo <= -0.99 <= hi else 'no'}; "
        f"excludes 0: {'yes' if hi < 0 or lo > 0 else 'no'}\n")
    first, last = sizes[0], sizes[-1]
    t0, t1 = table(df, first, "test.ens_acc_mean"), table(df, last, "test.ens_acc_mean")
    g0 = (t0[bs[first]] - t0[0.0]).rename("a")
    g1 = (t1[bs[last]] - t1[0.0]).rename("b")
    d = pd.concat([g0, g1], axis=1).dropna()
    diff = (d.b - d.a).to_numpy()
    out(f"Gain growth (Fig 3a/b): gain at β*_neg, N={last} minus N={first}, paired by seed: "
        f"{diff.mean() * 100:+.2f} pp, 95 % CI [{bootstrap_ci(diff)[0] * 100:+.2f}, {bootstrap_ci(diff)[1] * 100:+.2f}]"
        f", {int((diff > 0).sum())}/{int((diff < 0).sum())} seeds, Wilcoxon p {wilcoxon_p(diff):.3g}\n")


def section_structure(arm: str, df: pd.DataFrame) -> None:
    ok = df[~df.diverged]
    out(f"### {arm}, exact eq. (1): structure at β*_neg and at the largest β > 0 vs β = 0 (test; non-diverged)\n")
    rows = []
    quantities = dict(STRUCT)
    for prefix, label in LAYERED.items():
        quantities.update({f"{label} {c.removeprefix(prefix)}": c for c in df.columns if c.startswith(prefix)})
    for n in sorted(ok["N"].unique()):
        pos = sorted(b for b in ok[ok["N"] == n].beta.unique() if b > 0)
        refs = [optimum(df, n, negative_only=True), *pos[-1:]]
        if n == 2:  # the paper's Table S3/S4 comparison point β = −0.4 (nearest grid value)
            neg = np.array(sorted(b for b in ok[ok["N"] == n].beta.unique() if b < 0))
            refs.append(float(neg[np.argmin(np.abs(np.log(-neg) - np.log(0.4)))]))
        for b in dict.fromkeys(refs):
            for label, col in quantities.items():
                if col not in ok:
                    continue
                t = table(ok, n, col)
                if b not in t or 0.0 not in t:
                    continue
                d = (t[b] - t[0.0]).dropna()
                base = t[0.0].mean()
                rows.append({"N": n, "β": f"{b:g}", "quantity": label, "at β": f"{t[b].mean():.4f}",
                             "at 0": f"{base:.4f}", "change": f"{(t[b].mean() / base - 1) * 100:+.1f} %" if base
                             else "n/a", "up/down": f"{int((d > 0).sum())}/{int((d < 0).sum())}",
                             "p": f"{wilcoxon_p(d.to_numpy()):.3g}"})
    out(md(rows))


def section_stability(arm: str, vs: dict[str, pd.DataFrame]) -> None:
    out(f"### {arm}: stability — collapse point β_c (≥ half diverged, or test ens > 5 pp below β = 0)\n")
    rows = []
    for name, g in vs.items():
        for n in sorted(g["N"].unique()):
            bc, bs = cliff(g, n), optimum(g, n, negative_only=True)
            div = g[(g["N"] == n) & (g.beta < 0)]
            rows.append({"variant": name, "N": n, "β*_neg (val)": f"{bs:g}",
                         "β_c": "none on grid" if bc is None else f"{bc:g}",
                         "optimum before the cliff": "yes" if bc is None or bs > bc else "NO",
                         "|β_c| / |β*|": "n/a" if bc is None else f"{bc / bs:.2f}",
                         "diverged runs (β < 0)": f"{int(div.diverged.sum())}/{len(div)}"})
    out(md(rows))


def report_arm(arm: str, df: pd.DataFrame) -> None:
    out(f"## Arm {arm}: {len(df)} runs, N ∈ {sorted(int(n) for n in df['N'].unique())}, "
        f"{df.seed.nunique()} seeds, {df.beta.nunique()} β values, {int(df.diverged.sum())} diverged\n")
    vs = variants(df)
    exact = vs.get("exact eq. (1)", df)
    section_recipe(arm, exact)
    for name, g in vs.items():
        section_accuracy(arm, name, g)
        section_optimum(arm, name, g)
        section_gains(arm, name, g)
        section_scaling(arm, name, g)
    for rule in ("geometric", "vote"):
        section_optimum(arm, "exact eq. (1)", exact, rule)
    section_structure(arm, exact)
    section_stability(arm, vs)
    if arm == "mlp" and 10 in set(exact["N"]):
        b = 10 * optimum(exact, 10, negative_only=True)
        out(f"Table S5 base coupling: β̄*_neg(N = 10) = {b:.4g}; run the expansion sweep with "
            f"`--set beta_bar={b:.4g} --set 'add_freeze_beta_bars=[0.0, {b:.4g}]'`\n")


def report_expansion(df: pd.DataFrame) -> None:
    cols = [c for c in df.columns if c.startswith("test_acc.")]
    out(f"## Expansion and boosting (Table S5): {len(df)} seeds\n")
    base = df["test_acc.base"]
    rows = []
    for c in cols:
        d = (df[c] - base).dropna().to_numpy()
        rows.append({"method": c.removeprefix("test_acc."), "test ens acc": ms(df[c]),
                     "− base (pp)": ms(d, 100, 2), "better/worse": f"{int((d > 0).sum())}/{int((d < 0).sum())}",
                     "p vs base": f"{wilcoxon_p(d):.3g}" if len(d) else "n/a"})
    out(md(rows))


def report_longrun(df: pd.DataFrame) -> None:
    out(f"## Long run (Fig S2b): mean |Δ val member accuracy| per epoch, pp ({df.seed.nunique()} seeds)\n")
    cols = [c for c in df.columns if c.startswith("val.abs_change.")]
    rows = [{"β": f"{b:g}", **{c.removeprefix("val.abs_change."): ms(g[c], 100, 2) for c in cols}}
            for b, g in df.groupby("beta")]
    out(md(rows))
    late = "val.abs_change.e150-300"
    if late in df and 0.0 in set(df.beta):
        t = df.pivot_table(index="seed", columns="beta", values=late)
        for b in [c for c in t.columns if c != 0]:
            d = (t[b] - t[0.0]).dropna()
            out(f"|Δ| over epochs 150–300 at β = {b:g} minus β = 0: {d.mean() * 100:+.3f} pp, "
                f"{int((d > 0).sum())}/{int((d < 0).sum())} seeds up/down\n")


def report_pilot(df: pd.DataFrame) -> None:
    out(f"## Recipe pilot at β = 0 (pilot/pilot.csv, {len(df)} runs; CPU s = user + sys of `coterie run`, 1 thread)\n")
    cols = ["name", "seed", "N", "epochs", "val_member", "val_ens", "test_member", "test_ens", "val_change_last20pct",
            "best_val_epoch", "cpu_seconds", "wall_seconds"]
    out(md(df[cols].to_dict("records")))
    g = df[~df.overrides.fillna("").str.contains("objective.params.beta")]  # β = 0 candidates only
    rows = [{"candidate": k, "runs": len(v), "val ens": f"{v.val_ens.mean():.4f}",
             "val member": f"{v.val_member.mean():.4f}", "test member": f"{v.test_member.mean():.4f}",
             "test ens": f"{v.test_ens.mean():.4f}"} for k, v in g[g["N"] == 2].groupby("name")]
    out("Means over the N = 2 runs of each candidate:\n")
    out(md(rows))


def readings_module():
    """readings.py from beside this file (the pre-registered criteria applied to the same runs.csv files)."""
    spec = importlib.util.spec_from_file_location("colearning_readings", HERE / "readings.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--export", type=Path, nargs="+", metavar="SQLITE", help="sweeps' results.sqlite to flatten")
    ap.add_argument("--to", type=Path, help="runs.csv to write with --export")
    args = ap.parse_args()
    if args.export:
        if args.to is None:
            ap.error("--export needs --to (e.g. docs/results/colearning/mlp/runs.csv)")
        df = export(args.export, args.to)
        out(f"wrote {args.to}: {len(df)} runs")
        return
    out("# Co-learning study v2: numbers (every figure in README.md comes from here)\n")
    if (HERE / "pilot" / "pilot.csv").exists():
        report_pilot(pd.read_csv(HERE / "pilot" / "pilot.csv"))
    for arm in ARMS:
        if (HERE / arm / "runs.csv").exists():
            report_arm(arm, pd.read_csv(HERE / arm / "runs.csv"))
    if (HERE / "expansion" / "runs.csv").exists():
        report_expansion(pd.read_csv(HERE / "expansion" / "runs.csv"))
    if (HERE / "longrun" / "runs.csv").exists():
        report_longrun(pd.read_csv(HERE / "longrun" / "runs.csv"))
    readings_module().report_readings(HERE)


if __name__ == "__main__":
    main()
