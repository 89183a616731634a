"""docs/results/colearning/readings.py: each pre-registered criterion on small hand-made runs whose verdict is known
by construction (a gain positive in every one of 10 seeds has Wilcoxon p = 2/2^10; a sign flip does not hold; β*
placed on the grid by the validation curve fixes the slope of log|β*| on log N)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(10)


@pytest.fixture(scope="module")
def rd():
    return load_script(ROOT / "docs/results/colearning/readings.py", "colearn_readings")


def runs(sizes, betas, cols: dict[str, Callable[[int, float, int], float]], seeds=SEEDS, **const) -> pd.DataFrame:
    """One row per (N, β, seed); each column of ``cols`` is f(N, β, seed), ``const`` columns are constants."""
    rows = [
        {"N": n, "beta": b, "seed": s, "log_floor": np.nan, "diverged": False, **const}
        | {k: f(n, b, s) for k, f in cols.items()}
        for n in sizes
        for b in betas
        for s in seeds
    ]
    return pd.DataFrame(rows)


def peak_at(where: Callable[[int], float]) -> Callable[[int, float, int], float]:
    """Validation accuracy 0.7 at β = where(N), 0.6 elsewhere (plus a small seed offset that moves nothing)."""
    return lambda n, b, s: (0.7 if b == where(n) else 0.6) + 0.0001 * s


# ------------------------------------------------------------------------------------------------------- H1
def test_h1_gap_ens_minus_member(rd):
    def frame(gap):
        return runs(
            (2, 5),
            (-0.2, -0.1, 0.0, 0.47),
            {"test.ens_acc_mean": lambda n, b, s: 0.7, "test.member_acc_mean": lambda n, b, s: 0.7 - gap(n, b)},
        )

    assert rd.h1(frame(lambda n, b: 0.02)).verdict == rd.HOLDS
    assert rd.h1(frame(lambda n, b: -0.01 if b > 0 else 0.02)).verdict == rd.WEAKER  # only a β > 0 cell fails
    assert rd.h1(frame(lambda n, b: -0.01 if (n, b) == (5, -0.2) else 0.02)).verdict == rd.NOT
    assert rd.h1(frame(lambda n, b: 0.0 if (n, b) == (2, 0.0) else 0.02)).verdict == rd.NOT  # gap ≤ 0, not < 0
    df = frame(lambda n, b: -0.01 if (n, b) == (5, -0.2) else 0.02)
    df.loc[(df.N == 5) & (df.beta == -0.2) & (df.seed < 5), "diverged"] = True  # half diverged: cell left out
    r = rd.h1(df)
    assert r.verdict == rd.HOLDS and "1 left out" in r.measured


# ------------------------------------------------------------------------------------------------------- H3
def test_h3_sign_of_the_validation_optimum(rd):
    betas = (-0.2, -0.1, 0.0, 0.47)
    assert rd.h3(runs((2, 5), betas, {"val.ens_acc_mean": peak_at(lambda n: -0.1)})).verdict == rd.HOLDS
    assert rd.h3(runs((2, 5), betas, {"val.ens_acc_mean": peak_at(lambda n: 0.0)})).verdict == rd.NOT
    mixed = runs((2, 5), betas, {"val.ens_acc_mean": peak_at(lambda n: -0.1 if n == 2 else 0.47)})
    r = rd.h3(mixed)
    assert r.verdict == rd.WEAKER and r.measured == "β* N=2: -0.1, N=5: 0.47"


# ------------------------------------------------------------------------------------------------------- H4
def h4_frame(gain: Callable[[int, int], float]) -> pd.DataFrame:
    """β*_neg = −0.1 at N = 2 and 5; test gain there over β = 0 is gain(N, seed), zero at every other β."""
    return runs(
        (2, 5),
        (-0.2, -0.1, 0.0, 0.47),
        {
            "val.ens_acc_mean": peak_at(lambda n: -0.1),
            "test.ens_acc_mean": lambda n, b, s: 0.6 + (gain(n, s) if b == -0.1 else 0.0),
        },
    )


def test_h4_gain_positive_in_every_seed_holds(rd):
    df = h4_frame(lambda n, s: 0.01 + 0.001 * s)
    g = rd.S.gains(df, 2).set_index("beta")
    assert g.loc[-0.1, "p"] == pytest.approx(2 / 2**10)  # every seed better: the smallest exact two-sided p
    assert g.loc[-0.1, "p_holm"] == pytest.approx(3 * 2 / 2**10)  # Holm over the 3 β ≠ 0
    r = rd.h4(df)
    assert r.verdict == rd.HOLDS and "Holm-significant gain at β < 0: -0.1" in r.measured


def test_h4_sign_flip_does_not_hold_and_one_n_is_weaker(rd):
    assert rd.h4(h4_frame(lambda n, s: -(0.01 + 0.001 * s))).verdict == rd.NOT
    assert rd.h4(h4_frame(lambda n, s: (1 if n == 2 else -1) * (0.01 + 0.001 * s))).verdict == rd.WEAKER


# ------------------------------------------------------------------------------------------------------- H6
NEG = (-1.0, -0.5, -0.25, -0.125, -0.0625, -0.03125, -0.015625)


def test_h6_slope_ci_containing_minus_099_holds(rd):
    """Seeds 0–4 (A) peak at β = −1/2 at N = 2 and −1/16 at N = 8, seeds 5–9 (B, a hair higher) at −1/4 and −1/8;
    N = 4 peaks at −1/4. A resample with ≥ 6 A seeds gives slope −1.5 (log2 units: y = −1, −2, −4), otherwise
    −0.5 (y = −2, −2, −3): the bootstrap CI is [−1.5, −0.5], which contains −0.99 and excludes 0."""
    peaks = {2: (-0.5, -0.25), 4: (-0.25, -0.25), 8: (-0.0625, -0.125)}

    def val(n, b, s):
        a_peak, b_peak = peaks[n]
        if s < 5:
            return 0.7 if b == a_peak else 0.6
        return 0.701 if b == b_peak else 0.6

    df = runs((2, 4, 8), (*NEG, 0.0), {"val.ens_acc_mean": val})
    lo, hi = rd.S.slope_ci(df, (2, 4, 8))
    assert (lo, hi) == pytest.approx((-1.5, -0.5))
    assert rd.h6(df).verdict == rd.HOLDS


def test_h6_constant_optimum_does_not_hold_and_steeper_is_weaker(rd):
    flat = runs((2, 4, 8), (*NEG, 0.0), {"val.ens_acc_mean": peak_at(lambda n: -0.25)})
    r = rd.h6(flat)
    assert r.verdict == rd.NOT and "CI [0.000, 0.000]" in r.measured  # slope 0: CI contains 0
    steep = runs((2, 4), (*NEG, 0.0), {"val.ens_acc_mean": peak_at(lambda n: -1 / n**2)})
    r = rd.h6(steep)  # β* = −1/N²: slope −2, a point CI excluding 0 and −0.99
    assert r.verdict == rd.WEAKER and "slope -2.000" in r.measured


def test_h6_optimum_at_a_window_edge_is_not_resolved(rd):
    edge = runs((2, 4, 8), (*NEG, 0.0), {"val.ens_acc_mean": peak_at(lambda n: -1.0 if n == 2 else -1 / n)})
    r = rd.h6(edge)
    assert r.verdict == rd.UNRESOLVED and "edge at N = [2]" in r.measured


def test_slope_verdict_columns(rd):
    assert rd.slope_verdict(-1.2, -0.8, False) == rd.HOLDS
    assert rd.slope_verdict(-0.6, -0.2, False) == rd.WEAKER
    assert rd.slope_verdict(-1.5, 0.1, False) == rd.NOT
    assert rd.slope_verdict(-1.2, -0.8, True) == rd.UNRESOLVED
    assert rd.slope_verdict(0.2, 0.6, False) == rd.UNRESOLVED  # β* growing with N: in no column


# ------------------------------------------------------------------------------------------------------ H15
def test_h15_positive_coupling(rd):
    def frame(d):
        return runs((2, 5), (-0.1, 0.0, 0.47), {"test.ens_acc_mean": lambda n, b, s: 0.6 + (d(n, s) if b > 0 else 0)})

    assert rd.h15(frame(lambda n, s: -0.01 - 0.001 * s)).verdict == rd.HOLDS  # CI < 0 at every N
    mixed = [-0.005] * 8 + [0.01] * 2  # mean −0.002, CI ≈ [−0.005, +0.001] includes 0
    r = rd.h15(frame(lambda n, s: mixed[s]))
    assert r.verdict == rd.WEAKER and "N=2: -0.20" in r.measured
    assert rd.h15(frame(lambda n, s: (0.01 if n == 5 else -0.01) + 0.001 * s)).verdict == rd.NOT


# ------------------------------------------------------------------------------------------------------ H17
def expansion(**over: list[float]) -> pd.DataFrame:
    """5 seeds; add-freeze and boosting alternate ±0.1 pp around the base, scratch (200) 2 pp above everything."""
    alt = [0.001 * (-1) ** s for s in range(5)]
    cols = {
        "base": [0.70] * 5,
        "add-freeze_+0": [0.70 + a for a in alt],
        "add-freeze_-0.22": [0.70 - a for a in alt],
        "add-retrain": [0.705] * 5,
        "scratch_100ep": [0.71] * 5,
        "scratch_200ep": [0.725] * 5,
        "boost_m0": [0.70 + a for a in alt],
        "boost_m1": [0.70 - a for a in alt],
    } | over
    return pd.DataFrame({"seed": range(5)} | {f"test_acc.{k}": v for k, v in cols.items()})


def test_h17_table_s5(rd):
    assert rd.h17(expansion()).verdict == rd.HOLDS
    # scratch (200) better than add-retrain in seed mean but in 4 of 5 seeds only
    assert rd.h17(expansion(**{"add-retrain": [0.705, 0.705, 0.705, 0.705, 0.73]})).verdict == rd.WEAKER
    assert rd.h17(expansion(**{"add-retrain": [0.73] * 5})).verdict == rd.NOT  # an expansion beats scratch
    assert rd.h17(expansion(boost_m1=[0.73] * 5)).verdict == rd.NOT  # so does a boosting variant
    gap = rd.h17(expansion(**{"add-freeze_+0": [0.71] * 5}))  # better than base 5/5, scratch wins 5/5
    assert gap.verdict == rd.UNRESOLVED and "add-freeze_+0 5/5" in gap.measured
    assert rd.guarded(rd.h17, None).verdict == rd.NO_DATA


# ------------------------------------------------------------------------------------------------------ H18
def longrun(late: Callable[[float, int], float], mid: float = 0.002) -> pd.DataFrame:
    return runs(
        (2,),
        (-0.47, 0.0, 0.47),
        {
            "val.abs_change.e1-10": lambda n, b, s: 0.02,
            "val.abs_change.e10-50": lambda n, b, s: 0.005,
            "val.abs_change.e50-150": lambda n, b, s: mid,
            "val.abs_change.e150-300": lambda n, b, s: late(b, s),
        },
        seeds=range(5),
    )


def test_h18_long_run(rd):
    assert rd.h18(longrun(lambda b, s: 0.0015 if b < 0 else 0.001)).verdict == rd.HOLDS
    one_seed_lower = longrun(lambda b, s: (0.0009 if s == 3 else 0.0015) if b < 0 else 0.001)
    assert rd.h18(one_seed_lower).verdict == rd.WEAKER  # converged, but coupled larger in 4/5 seeds only
    assert rd.h18(longrun(lambda b, s: 0.005 if b > 0 else 0.001)).verdict == rd.NOT  # ×4 below 1–10 only
    gap = rd.h18(longrun(lambda b, s: 0.003, mid=0.002))  # ×6.7 below 1–10, but above 50–150
    assert gap.verdict == rd.UNRESOLVED


# ------------------------------------------------------------------------------------------ no data, stability
def test_missing_data_reads_no_data(rd, tmp_path, capsys):
    df = runs((2,), (-0.1, 0.0), {"val.ens_acc_mean": peak_at(lambda n: -0.1)})
    assert rd.guarded(rd.h9, df) == rd.Reading("missing: column analysis.test.wall_fraction", rd.NO_DATA)
    assert rd.guarded(rd.h11, df, 10).verdict == rd.NO_DATA  # no N = 10
    assert {r["verdict"] for r in rd.arm_readings("cnn", None)} == {rd.NO_DATA}
    rd.report_readings(tmp_path)  # no runs.csv at all
    text = capsys.readouterr().out
    assert "| H18 | mlp (longrun) | missing: no long-run runs | no data |" in text and "no cnn/runs.csv" in text


def test_stability_log_floor_against_exact(rd):
    """Exact eq. (1) collapses at β = −0.47 (test 0.1 vs 0.7); the log floor (no β = 0 run of its own) only at −1,
    judged against the exact β = 0 runs; β*_neg = −0.1 in both: the pre-registered expectation."""

    def test_acc(n, b, s):
        return 0.1 if b <= -0.47 else 0.7

    exact = runs((2,), (-0.47, -0.22, -0.1, 0.0), {"test.ens_acc_mean": test_acc})
    lf = runs((2,), (-1.0, -0.47, -0.22, -0.1), {"test.ens_acc_mean": lambda n, b, s: 0.1 if b == -1 else 0.7})
    lf["log_floor"] = -9.2103
    df = pd.concat([exact, lf], ignore_index=True)
    df["val.ens_acc_mean"] = np.where(df.beta == -0.1, 0.7, 0.6)
    rows = {r["variant"]: r for r in rd.stability_rows(df)}
    assert rows["exact eq. (1)"]["β_c (β̄_c)"] == "-0.47 (-0.94)"
    assert rows["exact eq. (1)"]["β_c / β*"] == "4.70"
    lfr = rows["log_floor -9.2103"]
    assert lfr["β_c (β̄_c)"] == "-1 (-2)" and lfr["β*_neg before the cliff"] == "yes"
    assert (
        lfr["expectation (log floor)"].startswith("as expected") and "(0 grid steps)" in lfr["expectation (log floor)"]
    )
    assert rd.grid_steps(-0.1, -0.068) == 1 and rd.grid_steps(-0.1, -0.047) == 2
