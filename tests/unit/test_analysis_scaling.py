"""Optimal coupling per N, its gain over independent ensembles, and the log-log scaling fit (seed 000 Fig 3b–d):
synthetic sweeps generated from a known power law, and brute-force references."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie.analysis import difference_from_independent, loglog_fit, optimal_coupling, runs_frame

SIZES = (2, 3, 5, 10, 20, 50)


@settings(max_examples=50, deadline=None)
@given(st.floats(-2.0, 0.5), st.floats(-3.0, 3.0), st.sampled_from([-1.0, 1.0]))
def test_exact_power_law_is_recovered(slope: float, intercept: float, sign: float) -> None:
    n = np.array(SIZES, dtype=float)
    beta = sign * np.exp(intercept) * n**slope
    fit = loglog_fit(n, beta)
    assert fit.slope == pytest.approx(slope, abs=1e-9)
    assert fit.intercept == pytest.approx(intercept, abs=1e-9)
    assert fit.n_points == len(SIZES)
    assert abs(fit.r_value) == pytest.approx(1.0) or slope == pytest.approx(0.0, abs=1e-9)
    np.testing.assert_allclose(fit.predict(n), np.abs(beta), rtol=1e-9)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-0.3, 0.3), min_size=6, max_size=6), st.floats(-1.5, -0.5))
def test_noisy_fit_is_ordinary_least_squares_in_log_space(noise: list[float], slope: float) -> None:
    n = np.array(SIZES, dtype=float)
    beta = -np.exp(-0.15 + np.array(noise)) * n**slope
    fit = loglog_fit(n, beta)
    p = np.polyfit(np.log(n), np.log(np.abs(beta)), 1)
    assert fit.slope == pytest.approx(p[0], abs=1e-9)
    assert fit.intercept == pytest.approx(p[1], abs=1e-9)
    # the slope's standard error, by hand
    x, yv = np.log(n), np.log(np.abs(beta))
    resid = yv - np.polyval(p, x)
    se = math.sqrt((resid**2).sum() / (len(x) - 2) / ((x - x.mean()) ** 2).sum())
    assert fit.slope_stderr == pytest.approx(se, rel=1e-6, abs=1e-8)


def test_zero_optima_are_left_out_and_too_few_points_raise() -> None:
    fit = loglog_fit(np.array([2, 5, 10, 20]), np.array([-0.5, 0.0, -0.1, -0.05]))
    assert fit.n_points == 3
    assert fit.slope == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="two"):
        loglog_fit(np.array([2, 5]), np.array([-0.5, 0.0]))


def _peaked(beta_bar: float, n: int, seed: int, peak: float = -1.0) -> float:
    """A validation accuracy that peaks at β̄ = ``peak`` for every N (the paper's Fig 3d finding)."""
    return 0.8 + 0.01 * n**0.5 - 0.05 * (beta_bar - peak) ** 2 + 0.001 * seed


def _synthetic_sweep(beta_bars: tuple[float, ...] = (-2.0, -1.0, -0.5, 0.0, 0.5), seeds: int = 3) -> pd.DataFrame:
    """A sweep table built the way the sweep builds it: runs_frame over store rows with normalised β̄ configs."""
    rows = []
    for n, bb, seed in itertools.product((2, 5, 10), beta_bars, range(seeds)):
        val = _peaked(bb, n, seed)
        test = val - 0.02 + 0.003 * ((seed * 7 + n) % 3)
        cfg = {
            "seed": seed,
            "ensemble": {"size": n},
            "experiment": "colearn",
            "objective": {"name": "colearning", "params": {"beta": bb, "normalize": True}},
        }
        rows.append(
            {
                "run_id": f"r{n}{bb}{seed}",
                "name": f"N{n}_bb{bb}_s{seed}",
                "run_dir": "runs/x",
                "config": cfg,
                "overrides": {"ensemble.size": n, "objective.params.beta": bb, "seed": seed},
                "metrics": {"val.ens_acc_mean": val, "test.ens_acc_mean": test},
            }
        )
    return runs_frame(rows)


def test_beta_bar_replot_identity_gives_slope_minus_one() -> None:
    df = _synthetic_sweep()
    np.testing.assert_allclose(df["beta"] * df["N"], df["beta_bar"])  # β̄ = β·N
    opt = optimal_coupling(df)
    assert list(opt["N"]) == [2, 5, 10]
    assert (opt["beta_bar_opt"] == -1.0).all()
    np.testing.assert_allclose(opt["beta_opt"], -1.0 / opt["N"])
    fit = loglog_fit(opt["N"].to_numpy(), opt["beta_opt"].to_numpy())
    assert fit.slope == pytest.approx(-1.0)  # β* ∝ 1/N
    assert fit.intercept == pytest.approx(0.0, abs=1e-12)  # |β*| = β̄*/N with β̄* = −1


def test_unnormalised_runs_get_beta_bar_as_beta_times_n() -> None:
    rows = [
        {
            "run_id": "a",
            "name": "a",
            "run_dir": "runs/a",
            "overrides": {},
            "config": {
                "seed": 0,
                "ensemble": {"size": 4},
                "objective": {"name": "colearning", "params": {"beta": -0.25}},
            },
            "metrics": {},
        },
        {
            "run_id": "b",
            "name": "b",
            "run_dir": "runs/b",
            "overrides": {},
            "config": {"seed": 0, "ensemble": {"size": 4}, "objective": {"name": "independent"}},
            "metrics": {},
        },
    ]
    df = runs_frame(rows)
    assert df.loc[0, "beta"] == -0.25 and df.loc[0, "beta_bar"] == -1.0
    assert df.loc[1, "beta"] == 0.0 and df.loc[1, "beta_bar"] == 0.0


def test_optimum_is_selected_on_validation_and_gain_is_paired_by_seed() -> None:
    rows = []
    # validation prefers β̄ = −1, the test split would prefer β̄ = +1: the selection must not look at test.
    val = {-1.0: [0.70, 0.72, 0.71], 0.0: [0.65, 0.66, 0.64], 1.0: [0.60, 0.61, 0.62]}
    test = {-1.0: [0.68, 0.70, 0.69], 0.0: [0.66, 0.64, 0.67], 1.0: [0.90, 0.90, 0.90]}
    for bb in val:
        for s in (2, 0, 1):  # shuffled order: pairing must be by seed, not by row position
            rows.append(
                {"N": 4, "beta_bar": bb, "seed": s, "val.ens_acc_mean": val[bb][s], "test.ens_acc_mean": test[bb][s]}
            )
    df = pd.DataFrame(rows)
    opt = optimal_coupling(df).iloc[0]
    assert opt["beta_bar_opt"] == -1.0 and opt["beta_opt"] == -0.25
    assert opt["select_opt"] == pytest.approx(np.mean(val[-1.0]))
    assert opt["report_opt_mean"] == pytest.approx(np.mean(test[-1.0]))
    assert opt["report_opt_std"] == pytest.approx(np.std(test[-1.0], ddof=1))
    assert opt["report_indep_mean"] == pytest.approx(np.mean(test[0.0]))
    gains = np.array(test[-1.0]) - np.array(test[0.0])
    assert opt["gain_mean"] == pytest.approx(gains.mean())
    assert opt["gain_std"] == pytest.approx(gains.std(ddof=1))
    assert opt["n_seeds"] == 3


def test_gain_uses_only_seeds_present_in_both() -> None:
    df = pd.DataFrame(
        {
            "N": 2,
            "beta_bar": [-1.0, -1.0, 0.0, 0.0],
            "seed": [0, 1, 1, 2],
            "val.ens_acc_mean": [0.9, 0.9, 0.5, 0.5],
            "test.ens_acc_mean": [0.8, 0.7, 0.6, 0.1],
        }
    )
    opt = optimal_coupling(df).iloc[0]
    assert opt["n_seeds"] == 1
    assert opt["gain_mean"] == pytest.approx(0.7 - 0.6)
    assert math.isnan(opt["gain_std"])


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_difference_heatmap_matches_a_brute_force_loop(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for n, bb, s in itertools.product((2, 3), (-1.0, 0.0, 0.5), range(4)):
        if rng.random() < 0.2 and bb != 0.0:
            continue  # a missing run
        rows.append({"N": n, "beta_bar": bb, "seed": s, "test.ens_acc_mean": rng.random()})
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=seed)
    piv = difference_from_independent(df)
    for n in (2, 3):
        for bb in (-1.0, 0.0, 0.5):
            diffs = []
            for s in range(4):
                cur = [r["test.ens_acc_mean"] for r in rows if (r["N"], r["beta_bar"], r["seed"]) == (n, bb, s)]
                base = [r["test.ens_acc_mean"] for r in rows if (r["N"], r["beta_bar"], r["seed"]) == (n, 0.0, s)]
                if cur and base:
                    diffs.append(cur[0] - base[0])
            if diffs:
                assert piv.loc[n, bb] == pytest.approx(np.mean(diffs))
            else:
                assert bb not in piv.columns or math.isnan(piv.loc[n, bb])
    assert (piv[0.0] == 0.0).all()


def test_difference_without_independent_runs_is_empty() -> None:
    df = pd.DataFrame({"N": [2], "beta_bar": [-1.0], "seed": [0], "test.ens_acc_mean": [0.5]})
    assert difference_from_independent(df).empty
