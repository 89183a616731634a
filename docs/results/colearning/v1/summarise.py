"""Numbers of docs/results/colearning/v1/README.md, from the sweep's results.sqlite (or the exported runs.csv).

    .venv/bin/python docs/results/colearning/v1/summarise.py                       # runs.csv beside this file
    .venv/bin/python docs/results/colearning/v1/summarise.py runs/colearn-mnist1d-sweep/results.sqlite \
        --export docs/results/colearning/v1/runs.csv                                # from the sweep, and re-export

Every choice of coupling is made on the validation split; test figures are only reported. Diverged runs (non-finite
loss under strong negative coupling) are kept in the accuracy tables as recorded (evaluated at their last finite
state) and left out of the structural tables (their weights are blown up, which says nothing about the structure of
trained networks). Prints Markdown.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

import pandas as pd
from scipy.stats import wilcoxon

HERE = Path(__file__).resolve().parent
RULES = {"mean": "ens_acc_mean", "geometric": "ens_acc_geometric", "vote": "ens_acc_vote"}
STRUCT = {
    "inactive fraction act1": "analysis.test.inactive_fraction.act1",
    "inactive fraction act2": "analysis.test.inactive_fraction.act2",
    "mean activation act1": "analysis.test.mean_activation.act1",
    "mean activation act2": "analysis.test.mean_activation.act2",
    "weight std fc1": "analysis.test.weight_std.fc1",
    "weight std fc2": "analysis.test.weight_std.fc2",
    "weight std head": "analysis.test.weight_std.head",
    "member entropy (nats)": "analysis.test.member_entropy_mean",
    "low-entropy fraction": "analysis.test.member_low_entropy_fraction",
    "mean pairwise JS": "test.mean_js",
    "member accuracy": "test.member_acc_mean",
    "voters Spearman r (Fig 5c)": "analysis.test.voters_spearman_r",
    "wall fraction (Fig 5a)": "analysis.test.wall_fraction",
    "rescued samples": "analysis.test.rescued_samples",
}
COLLAPSE = -1.0  # β̄ at or below which every run collapsed at this learning rate (see the accuracy table)


def load(source: Path) -> pd.DataFrame:
    """One row per finished run, results flattened to dotted columns (per-member lists dropped)."""
    if source.suffix == ".csv":
        return pd.read_csv(source)
    con = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    rows = con.execute("SELECT name, seed, results FROM runs WHERE status = 'finished'").fetchall()
    con.close()
    recs = []
    for name, seed, res in rows:
        r = json.loads(res)
        r["analysis"].pop("per_member", None)
        for part in ("val", "test"):
            for k in ("member_acc", "member_kl"):
                r[part].pop(k, None)
        recs.append({"name": name, "seed": seed, **pd.json_normalize(r).iloc[0].to_dict()})
    df = pd.DataFrame(recs).rename(columns={"n_members": "N"})
    df["diverged"] = df["diverged"].fillna(False).astype(bool)
    return df.sort_values(["N", "beta_bar", "seed"]).reset_index(drop=True)


def out(*parts: str) -> None:
    """Write one Markdown block to stdout."""
    sys.stdout.write("".join(str(x) for x in parts) + "\n")


def md(df: pd.DataFrame) -> str:
    cols = [str(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join(lines)


def ms(s: pd.Series, scale: float = 1.0, nd: int = 3) -> str:
    return f"{s.mean() * scale:.{nd}f} ± {s.std(ddof=1) * scale:.{nd}f}"


def paired(df: pd.DataFrame, n: int, bb: float, col: str) -> tuple[pd.Series, pd.Series]:
    """``col`` at (N, β̄) and at (N, 0), aligned on seed."""
    a = df[(df["N"] == n) & (df.beta_bar == bb)].set_index("seed")[col]
    b = df[(df["N"] == n) & (df.beta_bar == 0)].set_index("seed")[col]
    a, b = a.align(b, join="inner")
    return a, b


def wilcoxon_p(d: pd.Series) -> tuple[float, float, float]:
    """Two-sided exact Wilcoxon signed-rank on paired differences: (T+, T−, p)."""
    d = d[d != 0]
    if len(d) == 0:
        return 0.0, 0.0, 1.0
    ranks = d.abs().rank()
    return float(ranks[d > 0].sum()), float(ranks[d < 0].sum()), float(wilcoxon(d.to_numpy()).pvalue)


def optimum(df: pd.DataFrame, rule: str = "mean", coupled_only: bool = False) -> pd.DataFrame:
    """β̄* per N = argmax over β̄ of the seed-mean validation accuracy under ``rule``; test gain over β̄ = 0."""
    key = RULES[rule]
    rows = []
    for n, g in df.groupby("N"):
        means = g.groupby("beta_bar")[f"val.{key}"].mean()
        if coupled_only:
            means = means[means.index != 0]
        bb = float(means.idxmax())
        a, b = paired(df, n, bb, f"test.{key}")
        d = a - b
        tp, tm, p = wilcoxon_p(d)
        rows.append({"N": n, "β̄* (val)": bb, "val acc at β̄*": f"{means.max():.3f}",
                     "test acc at β̄*": ms(a), "test acc at β̄=0": ms(b), "gain (pp)": ms(d, 100, 2),
                     "seeds better/worse": f"{int((d > 0).sum())}/{int((d < 0).sum())}",
                     "T+/T−": f"{tp:g}/{tm:g}", "Wilcoxon p": f"{p:.4g}"})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("source", nargs="?", type=Path, help="results.sqlite or runs.csv")
    ap.add_argument("--export", type=Path, help="write the flattened run table here (CSV)")
    args = ap.parse_args()
    source = args.source or HERE / "runs.csv"  # the committed table (superseded study: no default sweep)
    df = load(source)
    if args.export:
        df.to_csv(args.export, index=False)
    betas = [float(b) for b in sorted(df.beta_bar.unique())]
    seeds = [int(x) for x in sorted(df.seed.unique())]
    sizes = [int(n) for n in sorted(df["N"].unique())]
    out(f"source: {source}; {len(df)} finished runs, N ∈ {sizes}, β̄ ∈ {betas}, "
          f"{len(seeds)} seeds; {int(df.diverged.sum())} diverged\n")

    out("## Diverged runs (non-finite loss; evaluated at the last finite epoch)\n")
    div = df[df.diverged]
    t = div.groupby(["N", "beta_bar"]).agg(runs=("seed", "size"),
                                           diverged_at_epoch=("diverged_at_epoch", lambda s: sorted(s.astype(int))),
                                           evaluated_epoch=("evaluated_epoch", lambda s: sorted(s.astype(int))))
    out(md(t.reset_index()), "\n\n")

    out("## Accuracy vs β̄ (mean ± std over seeds; ensemble = mean rule)\n")
    rows = []
    for (n, bb), g in df.groupby(["N", "beta_bar"]):
        rows.append({"N": n, "β̄": bb, "diverged": f"{int(g.diverged.sum())}/{len(g)}",
                     "val ens": ms(g["val.ens_acc_mean"]), "test ens": ms(g["test.ens_acc_mean"]),
                     "test member mean": ms(g["test.member_acc_mean"]),
                     "ens − member (pp)": ms(g["test.ens_acc_mean"] - g["test.member_acc_mean"], 100, 1),
                     "mean pairwise JS": ms(g["test.mean_js"])})
    out(md(pd.DataFrame(rows)), "\n\n")

    out("## Optimal β̄ per N (selected on validation over all β̄, mean rule)\n")
    out(md(optimum(df)), "\n\n")
    out("## Best coupled ensemble (β̄ ≠ 0, selected on validation) vs independent\n")
    out(md(optimum(df, coupled_only=True)), "\n\n")

    out("## Combination rules: β̄* per rule (selected on validation with that rule)\n")
    for rule in RULES:
        out(f"### {rule}\n")
        out(md(optimum(df, rule)), "\n\n")
    rows = []
    for (n, bb), g in df.groupby(["N", "beta_bar"]):
        rows.append({"N": n, "β̄": bb, **{f"test {r}": ms(g[f"test.{k}"]) for r, k in RULES.items()}})
    out("### test accuracy per rule\n")
    out(md(pd.DataFrame(rows)), "\n\n")

    out(f"## Collapsed runs (β̄ ≤ {COLLAPSE:g}), diverged or not\n")
    rows = []
    for (n, bb), g in df[df.beta_bar <= COLLAPSE].groupby(["N", "beta_bar"]):
        rows.append({"N": n, "β̄": bb, "diverged": f"{int(g.diverged.sum())}/{len(g)}",
                     "test ens acc": ms(g["test.ens_acc_mean"]),
                     "weight std fc1 (min–max)": f"{g['analysis.test.weight_std.fc1'].min():.3g}–"
                                                 f"{g['analysis.test.weight_std.fc1'].max():.3g}",
                     "inactive act2": ms(g["analysis.test.inactive_fraction.act2"])})
    out(md(pd.DataFrame(rows)), "\n\n")

    ok = df[df.beta_bar > COLLAPSE]
    out(f"## Structure and agreement (test split, members averaged; β̄ > {COLLAPSE:g}; mean ± std over seeds)\n")
    for n in sorted(ok["N"].unique()):
        g = ok[ok["N"] == n]
        rows = []
        for label, col in STRUCT.items():
            rows.append({"quantity": label, **{f"β̄={bb:g}": ms(g[g.beta_bar == bb][col])
                                               for bb in sorted(g.beta_bar.unique())}})
        out(f"### N = {n}\n")
        out(md(pd.DataFrame(rows)), "\n\n")

    out("## Structure at β̄* (val, mean rule) vs β̄ = 0, paired by seed\n")
    opt = optimum(df)
    rows = []
    for _, r in opt.iterrows():
        n, bb = int(r["N"]), float(r["β̄* (val)"])
        for label, col in STRUCT.items():
            a, b = paired(ok, n, bb, col)
            d = a - b
            _, _, p = wilcoxon_p(d)
            rel = f"{(a.mean() / b.mean() - 1) * 100:+.1f}%" if b.mean() else "n/a"
            rows.append({"N": n, "β̄*": bb, "quantity": label, "at β̄*": f"{a.mean():.4f}",
                         "at β̄=0": f"{b.mean():.4f}", "relative change": rel,
                         "seeds up/down": f"{int((d > 0).sum())}/{int((d < 0).sum())}", "Wilcoxon p": f"{p:.3g}"})
    out(md(pd.DataFrame(rows)), "\n\n")
    out("Exact two-sided Wilcoxon signed-rank across seeds, uncorrected; with "
          f"{len(seeds)} seeds the smallest attainable p is {2 / 2 ** len(seeds):.4g}.")


if __name__ == "__main__":
    main()
