"""Choose each method's coefficient on validation data by one rule applied to every method (issue 19 point 3).

A *selection run* is an ``experiment: robustness`` run with ``attack.eval_split: val`` whose targets are the
baseline (``unprotected``) and one target per candidate coefficient, labelled ``<method>@<value>`` (e.g.
``PARL@0.5``, ``DVERGE@0.03``). From its ``records`` the rule reads, per candidate, the clean validation accuracy
and the validation accuracy under one attack at one ε (default: black-box transfer BIM), both under one scoring rule
and averaged over the run's seeds:

* a candidate is *admissible* when its clean accuracy is at least the baseline's minus ``tolerance`` (3 pp);
* each method takes its admissible candidate with the highest attacked accuracy (ties: higher clean accuracy, then
  the candidate listed first);
* a method with no admissible candidate takes its most accurate candidate, flagged ``admissible = False``.

Run as ``python -m coterie.experiments.robustness.select RUN_DIR [--eps E] [--attack A] [--rule R]`` to print the
candidates as a Markdown table and the chosen label per method.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """One candidate coefficient of one method, with its validation clean and attacked accuracy (0–1)."""

    label: str
    method: str
    value: str
    clean: float
    robust: float
    admissible: bool


def _mean(values: list[float], what: str) -> float:
    if not values:
        raise ValueError(f"the selection records hold no {what}")
    return sum(values) / len(values)


def candidate_scores(
    records: Iterable[Mapping[str, Any]], attack: str, eps: float, rule: str, setting: str = "blackbox"
) -> dict[str, tuple[float, float]]:
    """``label → (clean accuracy, accuracy under attack at eps)`` averaged over seeds, in first-seen label order."""
    clean: dict[str, list[float]] = defaultdict(list)
    robust: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if r["rule"] != rule:
            continue
        if r["setting"] == "clean":
            clean[r["method"]].append(float(r["accuracy"]))
        elif r["setting"] == setting and r["attack"] == attack and abs(float(r["eps"]) - eps) < 1e-9:
            robust[r["method"]].append(float(r["accuracy"]))
    return {
        k: (_mean(v, f"clean accuracy of {k}"), _mean(robust[k], f"{setting} {attack} at eps={eps} of {k}"))
        for k, v in clean.items()
    }


def select(
    records: Iterable[Mapping[str, Any]],
    baseline: str = "unprotected",
    attack: str = "bim",
    eps: float = 0.03,
    rule: str = "vote",
    tolerance: float = 0.03,
) -> tuple[dict[str, Candidate], list[Candidate], float]:
    """Apply the rule: ``(chosen candidate per method, every candidate, baseline clean accuracy)``.

    Labels without ``@`` other than the baseline are ignored (they are not candidates)."""
    scores = candidate_scores(records, attack, eps, rule)
    if baseline not in scores:
        raise ValueError(f"baseline {baseline!r} missing from the selection records; labels: {sorted(scores)}")
    floor = scores[baseline][0] - tolerance
    cands = [
        Candidate(k, k.split("@", 1)[0], k.split("@", 1)[1], c, a, c >= floor - 1e-12)
        for k, (c, a) in scores.items()
        if "@" in k
    ]
    chosen: dict[str, Candidate] = {}
    for method in dict.fromkeys(c.method for c in cands):
        mine = [c for c in cands if c.method == method]
        ok = [c for c in mine if c.admissible]
        pool, key = (ok, lambda c: (c.robust, c.clean)) if ok else (mine, lambda c: (c.clean, c.robust))
        chosen[method] = max(pool, key=key)  # max keeps the first of equal keys
    return chosen, cands, scores[baseline][0]


def table(chosen: Mapping[str, Candidate], cands: Sequence[Candidate], base_clean: float) -> str:
    """Markdown table of every candidate (accuracies in %), the chosen ones marked."""
    lines = [
        f"baseline clean accuracy (validation): {100 * base_clean:.1f} %",
        "",
        "| method | value | clean % | attacked % | admissible | chosen |",
        "|---|---|---|---|---|---|",
    ]
    for c in cands:
        mark = "**yes**" if chosen[c.method].label == c.label else ""
        lines.append(
            f"| {c.method} | {c.value} | {100 * c.clean:.1f} | {100 * c.robust:.1f} | "
            f"{'yes' if c.admissible else 'no'} | {mark} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Print the candidates of one selection run's ``results.json`` and the chosen value per method."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("run_dir", type=Path)
    p.add_argument("--baseline", default="unprotected")
    p.add_argument("--attack", default="bim")
    p.add_argument("--eps", type=float, default=0.03)
    p.add_argument("--rule", default="vote")
    p.add_argument("--tolerance", type=float, default=0.03)
    a = p.parse_args(argv)
    records = json.loads((a.run_dir / "results.json").read_text())["records"]
    chosen, cands, base = select(records, a.baseline, a.attack, a.eps, a.rule, a.tolerance)
    sys.stdout.write(
        table(chosen, cands, base) + "\n\nchosen: " + ", ".join(f"{m}={c.value}" for m, c in chosen.items()) + "\n"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
