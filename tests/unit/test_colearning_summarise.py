"""docs/results/colearning/summarise.py (co-learning study v2) on a fake runs.csv with a known optimum.

Validation accuracy peaks at β = −1/N for N ∈ {2, 4, 8} (so log|β*| = −log N: slope −1, intercept 0); test
differences at N = 2 are built so that the exact two-sided Wilcoxon p-values and their Holm adjustment can be
counted by hand over the 2^6 sign patterns of 6 seeds.
"""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
SIZES = (2, 4, 8)
BETAS = (-1.0, -0.5, -0.25, -0.125, -0.0625, 0.0, 0.5)
SEEDS = range(6)
# test-accuracy differences (in units of 0.001) from β = 0 at N = 2, per β, per seed
DIFFS = {
    -1.0: [-1, -2, -3, 4, 5, 6],
    -0.5: [1, 2, 3, 4, 5, 6],
    -0.25: [-1, 2, 3, 4, 5, 6],
    -0.125: [0] * 6,
    -0.0625: [0] * 6,
    0.5: [-1, -2, -3, -4, -5, -6],
}


@pytest.fixture(scope="module")
def summarise():
    return load_script(ROOT / "docs/results/colearning/summarise.py", "colearn_summarise")


def fake_runs() -> pd.DataFrame:
    rows = []
    for n in SIZES:
        for b in BETAS:
            for s in SEEDS:
                if b < 0:
                    val = 0.6 - 0.05 * (math.log2(-b) - math.log2(1 / n)) ** 2
                else:
                    val = 0.55 if b == 0 else 0.5
                test = 0.55 + (DIFFS[b][s] * 0.001 if n == 2 and b != 0 else 0.0)
                rows.append(
                    {
                        "N": n,
                        "seed": s,
                        "beta": b,
                        "beta_bar": n * b,
                        "model": "mlp",
                        "log_floor": None,
                        "val.ens_acc_mean": val + 0.001 * s,
                        "test.ens_acc_mean": test,
                        "test.member_acc_mean": test - 0.02,
                        "diverged": False,
                    }
                )
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def df(tmp_path_factory) -> pd.DataFrame:
    path = tmp_path_factory.mktemp("csv") / "runs.csv"
    fake_runs().to_csv(path, index=False)
    return pd.read_csv(path)  # through the CSV, as summarise.py reads it


def test_optimum_is_located_on_validation(summarise, df):
    for n in SIZES:
        assert summarise.optimum(df, n) == pytest.approx(-1 / n)
        assert summarise.optimum(df, n, negative_only=True) == pytest.approx(-1 / n)


def test_slope_of_log_beta_star_on_log_n(summarise, df):
    slope, icpt = summarise.slope_fit(df, SIZES)
    assert slope == pytest.approx(-1.0, abs=1e-12)
    assert icpt == pytest.approx(0.0, abs=1e-12)
    lo, hi = summarise.slope_ci(df, SIZES, b=200)  # the seed offsets never move the optimum: a point CI
    assert lo == pytest.approx(-1.0) and hi == pytest.approx(-1.0)


def test_wilcoxon_and_holm_against_hand_counts(summarise, df):
    g = summarise.gains(df, 2).set_index("beta")
    # exact two-sided p = 2·#{sign patterns with T ≤ t}/64: t = 0 → 2/64; t = 1 → 4/64; t = 6 → 2·14/64
    raw = {-1.0: 28 / 64, -0.5: 2 / 64, -0.25: 4 / 64, -0.125: 1.0, -0.0625: 1.0, 0.5: 2 / 64}
    for b, p in raw.items():
        assert g.loc[b, "p"] == pytest.approx(p)
    # Holm over the 6 β ≠ 0: sorted p 2/64, 2/64, 4/64, 28/64, 1, 1 → 6·2/64, max(·, 5·2/64), 4·4/64, min(1, 3·28/64)
    holm = {-0.5: 12 / 64, 0.5: 12 / 64, -0.25: 16 / 64, -1.0: 1.0, -0.125: 1.0, -0.0625: 1.0}
    for b, p in holm.items():
        assert g.loc[b, "p_holm"] == pytest.approx(p)
    assert g.loc[-0.5, "gain"] == pytest.approx(0.0035)
    assert g.loc[-0.5, "ci_lo"] >= 0.001 - 1e-12 and g.loc[-0.5, "ci_hi"] <= 0.006 + 1e-12
    assert (g.loc[-0.5, "better"], g.loc[-0.5, "worse"]) == (6, 0)


def test_holm_is_monotone_step_down(summarise):
    assert summarise.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_curve_stats_of_a_linear_ramp(summarise, tmp_path):
    lines = [json.dumps({"epoch": e, "val_member_acc": [0.01 * e, 0.01 * e + 0.02]}) for e in range(20)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    st = summarise.curve_stats(tmp_path / "metrics.jsonl")
    assert st["val.member_acc_change_last20"] == pytest.approx(0.03)  # last 4 epochs: slope 0.01 × 3
    assert st["val.member_acc_fluct_last20"] == pytest.approx(0.01)
    assert st["val.abs_change.e1-10"] == pytest.approx(0.01)


def test_curve_stats_windows_of_a_300_epoch_run(summarise, tmp_path):
    """A 300-epoch run records epochs 0..299 (299 steps): every window up to 150-300 is filled, 300-600 is not."""
    acc = [0.1 + (0.002 * e if e < 150 else 0.3 + 0.0005 * (e % 2)) for e in range(300)]
    lines = [json.dumps({"epoch": e, "val_member_acc": [a, a]}) for e, a in enumerate(acc)]
    (tmp_path / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    st = summarise.curve_stats(tmp_path / "metrics.jsonl")
    assert st["val.abs_change.e1-10"] == pytest.approx(0.002)
    # steps 149..298: 149 → 150 is the ramp's last 0.002, then 149 alternations of 5e-4
    assert st["val.abs_change.e150-300"] == pytest.approx((0.002 + 149 * 0.0005) / 150)
    assert "val.abs_change.e300-600" not in st


def test_export_flattens_a_sweep_database(summarise, tmp_path):
    db = tmp_path / "results.sqlite"
    con = sqlite3.connect(db)
    con.execute(
        "CREATE TABLE runs (run_id TEXT, name TEXT, status TEXT, seed INTEGER, config TEXT, results TEXT, run_dir TEXT)"
    )
    cfg = {
        "model": {"name": "mlp"},
        "objective": {"params": {"beta": -0.5, "log_floor": -9.2}},
        "optimizer": {"name": "adam", "lr": 0.01},
    }
    res = {
        "n_members": 2,
        "beta": -0.5,
        "beta_bar": -1.0,
        "diverged": False,
        "test": {"ens_acc_mean": 0.6, "member_acc": [0.5, 0.6]},
        "val": {"ens_acc_mean": 0.61},
        "analysis": {"per_member": {"x": [1]}},
    }
    con.execute(
        "INSERT INTO runs VALUES ('a', 'r1', 'finished', 3, ?, ?, ?)",
        (json.dumps(cfg), json.dumps(res), str(tmp_path / "nowhere")),
    )
    con.execute("INSERT INTO runs VALUES ('b', 'r2', 'failed', 4, ?, '{}', '')", (json.dumps(cfg),))
    con.commit()
    con.close()
    out = summarise.export([db], tmp_path / "runs.csv")
    back = pd.read_csv(tmp_path / "runs.csv")
    assert len(out) == len(back) == 1
    row = back.iloc[0]
    assert (row["N"], row["seed"], row["beta"], row["beta_bar"], row["model"]) == (2, 3, -0.5, -1.0, "mlp")
    assert row["log_floor"] == pytest.approx(-9.2) and row["test.ens_acc_mean"] == pytest.approx(0.6)
    assert not any("per_member" in c or c.endswith("member_acc") for c in back.columns)
    assert not np.isnan(row["val.ens_acc_mean"])


def test_no_argument_run_prints_every_section(tmp_path):
    """summarise.py with no arguments, copied beside a fake mlp/runs.csv, prints the pre-registered sections."""
    import shutil
    import subprocess
    import sys

    shutil.copy(ROOT / "docs/results/colearning/summarise.py", tmp_path / "summarise.py")
    shutil.copy(ROOT / "docs/results/colearning/readings.py", tmp_path / "readings.py")
    (tmp_path / "mlp").mkdir()
    df = fake_runs()
    for part in ("val", "test"):
        for rule in ("geometric", "vote"):
            df[f"{part}.ens_acc_{rule}"] = df[f"{part}.ens_acc_mean"]
    df["train_seconds"] = 1.0
    df["test.mean_js"] = 0.1 - df["beta"] * 0.01
    df.to_csv(tmp_path / "mlp" / "runs.csv", index=False)
    res = subprocess.run([sys.executable, str(tmp_path / "summarise.py")], capture_output=True, text=True, check=True)
    text = res.stdout
    assert "OLS log|β*| = -1.000 · log N +0.000" in text
    assert "| 2 | -0.5 | -0.5 | -1 | [-1, -0.0625] | no |" in text  # N, β*, β*_neg, β̄*_neg, window, edge
    assert "JS between members (Fig 4a)" in text and "collapse point" in text
    readings = text.split("## Readings")[1]  # printed last; absent files and columns read "no data"
    assert "| H6 | mlp | slope -1.000, CI [-1.000, -1.000]" in readings
    assert "| H9 | mlp | missing: column analysis.test.wall_fraction | no data |" in readings
    assert "| H17 | mlp (expansion) | missing: no expansion runs | no data |" in readings
