"""Case (a) of executors.py in several fresh processes: the spread of the fused step's ratio to each baseline.

One process's ratio is a draw, not a measurement: the competent loop's time moves by up to 1.4× between processes
on the same quiet machine (which freed blocks the allocator hands back decides where each step's buffers land), far
more than within one process. This runs ``executors.py --mlp-only`` K times, each in a new interpreter, and prints
per row the median, minimum and maximum ratio over the processes; the target is read off the median.

Run: ``python benchmarks/executors_spread.py [--processes 7] [--threads 2] [--quick]``
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
ROW = re.compile(r"^(\(a\) .+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)×\s+(.+)$")


def parse_rows(text: str, table_title: str = "steady state") -> dict[str, tuple[float, str]]:
    """``row label → (ratio, target)`` of the (a) rows of the table whose title contains ``table_title``."""
    rows: dict[str, tuple[float, str]] = {}
    inside = False
    for line in text.splitlines():
        if line and not line.startswith(("(", "case", "#")):
            inside = table_title in line
            continue
        m = ROW.match(line)
        if inside and m:
            rows[m.group(1).strip()] = (float(m.group(4)), m.group(5).strip())
    return rows


def spread(runs: list[dict[str, tuple[float, str]]]) -> list[tuple[str, float, float, float, int, str]]:
    """Per row label (first-seen order): median, min and max ratio, how many processes had it, its target."""
    labels = list(dict.fromkeys(label for r in runs for label in r))
    out = []
    for label in labels:
        vals = [r[label][0] for r in runs if label in r]
        target = next(r[label][1] for r in runs if label in r)
        out.append((label, statistics.median(vals), min(vals), max(vals), len(vals), target))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--processes", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    cmd = [sys.executable, str(HERE / "executors.py"), "--mlp-only", "--threads", str(a.threads)]
    runs = []
    for k in range(a.processes):
        res = subprocess.run(cmd + (["--quick"] if a.quick else []), capture_output=True, text=True, check=True)
        runs.append(parse_rows(res.stdout))
        if k == 0:
            sys.stdout.write(res.stdout.splitlines()[0] + "\n")  # the first process's header (conditions)
    sys.stdout.write(f"case (a), steady state, ratio over {a.processes} fresh processes\n")
    sys.stdout.write(f"{'case':55s} {'median':>7s} {'min':>6s} {'max':>6s}  target\n")
    for label, med, lo, hi, n, target in spread(runs):
        sys.stdout.write(
            f"{label:55s} {med:6.2f}× {lo:5.2f}× {hi:5.2f}×  {target}"
            + ("" if n == a.processes else f"  ({n} processes)")
            + "\n"
        )


if __name__ == "__main__":
    main()
