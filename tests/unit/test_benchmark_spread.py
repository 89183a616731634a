"""benchmarks/executors_spread.py: the (a) rows parsed from executors.py's output, and their spread over processes."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import executors_spread as S

OUT = """# torch 2.13.0+cpu, 2 threads, 2 cores, load average 2.0, x86_64, freed memory kept (mallopt)
co-learning step, batch 512: plain-PyTorch baselines vs coterie, steady state
case                                                 baseline ms  coterie ms   ratio  target
(a) 10 × MLP, coterie (fused) vs competent loop             5.16        3.40   1.52×  ≥ 1.8×
(a) ceiling: competent loop vs hand-written step            5.16        2.58   2.00×  bound

the same, single calls interleaved (every step starts on the other method's caches)
case                                                 baseline ms  coterie ms   ratio  target
(a) 10 × MLP, coterie (fused) vs competent loop             5.28        3.84   1.37×  -
"""


def test_rows_of_the_steady_state_table_only() -> None:
    rows = S.parse_rows(OUT)
    assert rows == {
        "(a) 10 × MLP, coterie (fused) vs competent loop": (1.52, "≥ 1.8×"),
        "(a) ceiling: competent loop vs hand-written step": (2.00, "bound"),
    }
    assert S.parse_rows(OUT, "single calls")["(a) 10 × MLP, coterie (fused) vs competent loop"] == (1.37, "-")


def test_spread_is_median_min_max_per_row() -> None:
    label = "(a) 10 × MLP, coterie (fused) vs competent loop"
    runs = [{label: (r, "≥ 1.8×")} for r in (1.45, 1.86, 1.47, 1.52)] + [{}]
    ((got_label, med, lo, hi, n, target),) = S.spread(runs)
    assert (got_label, n, target) == (label, 4, "≥ 1.8×")
    assert (med, lo, hi) == pytest.approx(((1.47 + 1.52) / 2, 1.45, 1.86))
