"""Issue 16 (7): everything that needs a GPU, in one run and one table — the CUDA-marked tests
(``pytest -m cuda tests/cuda``) and the executor benchmark on the GPU (``executors.py --device cuda``, its
steady-state ratios: coterie's co-learning step against the plain-PyTorch baselines, all on the same device).

On a machine without CUDA it says so and exits 0. Exit status 1 when a CUDA test fails or the benchmark breaks.

Run: ``python benchmarks/cuda_check.py [--quick] [--no-bench]``
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
# a row of _timing.table: case, baseline ms, coterie ms, ratio×, target
ROW = re.compile(r"^(?P<case>.+?)\s+(?P<base>\d+\.\d+)\s+(?P<ours>\d+\.\d+)\s+(?P<ratio>\d+\.\d+)×\s+(?P<target>.*)$")


def run_tests(extra: list[str]) -> tuple[dict[str, int], float, str]:
    """Counts (tests, passed, failed, errors, skipped), seconds, and the output tail of the CUDA test run."""
    with tempfile.TemporaryDirectory() as tmp:
        junit = Path(tmp) / "cuda.xml"
        cmd = [sys.executable, "-m", "pytest", "-m", "cuda", "tests/cuda", "-q", "-p", "no:cacheprovider"]
        t0 = time.perf_counter()
        proc = subprocess.run([*cmd, f"--junitxml={junit}", *extra], cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        if junit.exists():
            for suite in ET.parse(junit).getroot().iter("testsuite"):
                for k in counts:
                    counts[k] += int(suite.get(k, 0))
    counts["passed"] = counts["tests"] - counts["failures"] - counts["errors"] - counts["skipped"]
    return counts, seconds, (proc.stdout + proc.stderr)[-3000:]


def run_bench(quick: bool) -> tuple[list[tuple[str, float, float, float, str]], int, str]:
    """The steady-state rows of ``executors.py --device cuda`` (case, baseline ms, coterie ms, ratio, target)."""
    cmd = [sys.executable, "benchmarks/executors.py", "--device", "cuda", *(["--quick"] if quick else [])]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    rows = []
    for line in proc.stdout.split("\n\n")[0].splitlines():  # the first table: the steady state
        m = ROW.match(line)
        if m:
            rows.append((m["case"], float(m["base"]), float(m["ours"]), float(m["ratio"]), m["target"].strip()))
    return rows, proc.returncode, (proc.stdout + proc.stderr)[-3000:]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer benchmark rounds (noisier)")
    ap.add_argument("--no-bench", action="store_true", help="run the CUDA tests only")
    ap.add_argument("pytest_args", nargs="*", help="extra pytest arguments, e.g. -k amp")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA device on this machine: the CUDA tests and the GPU benchmark need one; nothing to check")
        return 0
    counts, seconds, test_tail = run_tests(args.pytest_args)
    rows, bench_rc, bench_tail = ([], 0, "") if args.no_bench else run_bench(args.quick)
    name = torch.cuda.get_device_name(0)
    print(f"# CUDA check on {name}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    print(f"{'item':<58}{'baseline ms':>12}{'coterie ms':>12}{'ratio':>8}  target")
    tests = (
        f"{counts['passed']} passed / {counts['tests']} ({counts['failures']} failed, {counts['errors']} errors, "
        f"{counts['skipped']} skipped) in {seconds:.0f} s"
    )
    print(f"{'CUDA tests (pytest -m cuda tests/cuda)':<58}{tests}")
    for case, base, ours, ratio, target in rows:
        print(f"{case[:57]:<58}{base:>12.2f}{ours:>12.2f}{ratio:>7.2f}×  {target}")
    if not args.no_bench and not rows:
        print(f"{'executor benchmark (executors.py --device cuda)':<58}no rows: exit status {bench_rc}")
    failed = counts["failures"] + counts["errors"] > 0 or counts["tests"] == 0
    if failed:
        print("\n# pytest output (tail)\n" + test_tail)
    if bench_rc != 0:
        print("\n# benchmark output (tail)\n" + bench_tail)
    return 1 if failed or bench_rc != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
