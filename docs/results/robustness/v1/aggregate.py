"""Combine the main study (repeat 0) with the seeds run (repeats 1, 2) into black-box mean ± std over three seeds.

Usage: ``python docs/results/robustness/v1/aggregate.py MAIN/results.json SEEDS/results.json OUT.json``. Prints the
black-box Table 1 rows (ε = 0.07 and ε = 0.03) as Markdown and writes the combined numbers to OUT.json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

METHODS = ["unprotected", "ADP", "GAL", "DVERGE", "PARL"]
ATTACKS = ["fgsm", "bim", "mim", "pgd"]


def main(main_path: str, seeds_path: str, out_path: str) -> None:
    main_res = json.loads(Path(main_path).read_text())
    reps = main_res["repeats"] + json.loads(Path(seeds_path).read_text())["repeats"]
    eps = main_res["eps"]
    lines: list[str] = []
    out: dict = {"seeds": [r["seed"] for r in reps], "eps": eps, "rows": {}}
    for target in (0.07, 0.03):
        j = eps.index(target)
        lines.append(f"\nblack-box, ε = {target}, seeds {out['seeds']}: accuracy % (mean ± std over seeds)\n")
        lines.append("| ensemble | Clean | FGSM | BIM | MIM | PGD | mean pairwise grad. cos (conv1-3, held-out) |")
        lines.append("|---|---|---|---|---|---|---|")
        for m in METHODS:
            vals = {"clean": [r["clean"][m]["vote"] for r in reps]}
            vals.update({a: [r["blackbox"][a][m][j] for r in reps] for a in ATTACKS})
            sim = [r["grad_similarity"][m]["mean_offdiag"] / len(r["grad_similarity_layers"]) for r in reps]
            row = {k: (100 * np.mean(v), 100 * np.std(v)) for k, v in vals.items()}
            out["rows"].setdefault(str(target), {})[m] = {**{k: list(v) for k, v in row.items()}, "grad_cos": sim}
            cells = " | ".join(f"{mu:.1f} ± {sd:.1f}" for mu, sd in row.values())
            lines.append(f"| {m} | {cells} | {np.mean(sim):+.2f} |")
    Path(out_path).write_text(json.dumps(out, indent=2))
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
