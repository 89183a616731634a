"""Print the markdown tables of the learned-diversity study from the run directories' results.json files.

.venv/bin/python docs/results/learned-diversity/v1/summarize.py

v1 (superseded) study: reads the committed v1/ldnn-*/results.json next to this file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def fmt(x: float | None, metric: str) -> str:
    if x is None:
        return "–"
    return f"{100 * x:.2f}%" if metric == "accuracy" else f"{x:.4g}"


def main() -> None:
    for run in sorted(HERE.glob("ldnn-*/results.json")):
        r = json.loads(run.read_text())
        for kind in ("nn", "hnn"):
            if kind not in r:
                continue
            m = r[kind]
            metric = m["metric"]
            out(f"\n### {run.parent.name} — {kind} ({r['sizes']}, wall {r.get('wall_seconds', 0):.0f} s)\n")
            out(
                f"| arm | val {metric} mean ± sd | val median | test {metric} mean | r = R/N | Tr H (seeds 0–2) "
                "| near-zero eig. fraction |"
            )
            out("|---|---|---|---|---|---|---|")
            for arm, s in m["val"].items():
                out(
                    f"| {arm} | {fmt(s['mean'], metric)} ± {fmt(s['std'], metric)} | {fmt(s['median'], metric)} "
                    f"| {fmt(m['test'][arm]['mean'], metric)} | {m['participation_r'][arm]['mean']:.3f} "
                    f"| {m['hessian_trace'][arm]['mean']:.4g} | {m['near_zero_fraction'][arm]['mean']:.3f} |"
                )
            out()
            for split in ("val", "test"):
                c = m[f"mix_vs_pure_{split}"]
                parts = [
                    f"vs {p}: advantage {fmt(v['mean_advantage'], metric)}, mix better on {v['mix_wins']}/{v['seeds']}"
                    f" seeds, Wilcoxon p = {v['wilcoxon_p']:.3g}"
                    for p, v in c.items()
                    if isinstance(v, dict)
                ]
                verdict = "yes" if c["mix_better_on_average_than_each_pure"] else "no"
                out(f"- mix beats each pure type on average ({split}): **{verdict}** — " + "; ".join(parts))
            c = m.get("mix_vs_baselines_val") or {}
            parts = [
                f"vs {p}: {fmt(v['mean_advantage'], metric)} ({v['mix_wins']}/{v['seeds']}, p = {v['wilcoxon_p']:.3g})"
                for p, v in c.items()
                if isinstance(v, dict)
            ]
            if parts:
                out("- mix against fixed baselines (val): " + "; ".join(parts))
            mm = m["meta"]
            out(
                f"- meta-learning: mean inner loss {mm['first_inner_loss']:.4g} → {mm['last_inner_loss']:.4g}; "
                f"export max |error| on [-10, 10]: {mm['export_max_abs_error_on_range']:.2e}"
            )
            if m.get("rollout"):
                out(
                    "- rollouts of the seed-0 mix network: "
                    + ", ".join(f"{k} {v:.3g}" for k, v in m["rollout"].items())
                )


if __name__ == "__main__":
    main()
