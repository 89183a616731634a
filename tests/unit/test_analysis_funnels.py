"""Sweep tables (seed 000 Fig 2c/3a/3d funnels, Tables S3/S4): mean ± std over seeds against pandas groupby, the
tidy run table built from a real results.sqlite."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie.analysis import (
    confidence_table,
    funnel,
    member_columns,
    runs_frame,
    structure_table,
)
from coterie.sweep import ResultStore, StoreError, load_sweep_frame


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2**31 - 1), st.floats(0.0, 0.4))
def test_funnel_equals_pandas_groupby(seed: int, missing: float) -> None:
    rng = np.random.default_rng(seed)
    rows = []
    for n, bb, s in itertools.product((2, 5, 10), (-1.0, -0.5, 0.0, 0.5), range(int(rng.integers(1, 5)))):
        v = rng.random() if rng.random() >= missing else math.nan  # a NaN (e.g. an undefined metric) is skipped
        rows.append({"N": n, "beta_bar": bb, "seed": s, "test.ens_acc_mean": v})
    df = pd.DataFrame(rows).sample(frac=1.0, random_state=seed)
    got = funnel(df, "test.ens_acc_mean")
    assert list(got.columns) == ["N", "beta_bar", "mean", "std", "count"]
    ref = (
        df.dropna(subset=["test.ens_acc_mean"])
        .groupby(["N", "beta_bar"])["test.ens_acc_mean"]
        .agg(["mean", "std", "count"])
        .reset_index()
    )
    pd.testing.assert_frame_equal(got, ref, check_dtype=False)
    # by hand, one cell: ddof = 1 standard deviation (NaN for a single seed)
    for (n, bb), g in df.groupby(["N", "beta_bar"]):
        vals = g["test.ens_acc_mean"].dropna().to_numpy()
        cell = got[(got["N"] == n) & (got["beta_bar"] == bb)]
        if len(vals) == 0:
            assert cell.empty
            continue
        assert float(cell["mean"].iloc[0]) == pytest.approx(vals.mean())
        if len(vals) > 1:
            assert float(cell["std"].iloc[0]) == pytest.approx(vals.std(ddof=1))
        else:
            assert math.isnan(float(cell["std"].iloc[0]))
    # sorted by N, then β̄
    assert list(zip(got["N"], got["beta_bar"])) == sorted(zip(got["N"], got["beta_bar"]))


def test_funnel_without_grouping_and_unknown_metric() -> None:
    df = pd.DataFrame({"N": [2, 2, 2], "beta": [0.1, 0.1, 0.2], "x.acc": [1.0, 3.0, 5.0]})
    got = funnel(df, "x.acc", x="beta", by=())
    assert got["mean"].tolist() == [2.0, 5.0] and got["count"].tolist() == [2, 1]
    with pytest.raises(KeyError, match=r"x\.acc"):  # the message lists what is available
        funnel(df, "test.nothing")


def test_member_columns_in_numeric_order() -> None:
    cols = [
        "test.member_acc.10",
        "test.member_acc.2",
        "test.member_acc.0",
        "test.member_acc_mean",
        "val.member_acc.1",
        "test.member_acc.x",
    ]
    df = pd.DataFrame(columns=cols)
    assert member_columns(df) == ["test.member_acc.0", "test.member_acc.2", "test.member_acc.10"]
    assert member_columns(df, "val") == ["val.member_acc.1"]


def test_structure_table_equals_groupby_per_layer() -> None:
    rng = np.random.default_rng(0)
    rows = [
        {
            "N": n,
            "beta_bar": bb,
            "seed": s,
            "analysis.test.weight_std.fc1": rng.random(),
            "analysis.test.weight_std.block.0.conv": rng.random(),
            "analysis.test.inactive_fraction.act1": 0.5,
        }
        for n, bb, s in itertools.product((2, 5), (-0.4, 0.0, 0.4), range(3))
    ]
    df = pd.DataFrame(rows)
    tab = structure_table(df, "weight_std", n=2)
    assert tab["layer"].tolist() == ["fc1", "block.0.conv"]  # dotted layer names survive
    sub = df[df["N"] == 2]
    for _, r in tab.iterrows():
        col = f"analysis.test.weight_std.{r['layer']}"
        for bb in (-0.4, 0.0, 0.4):
            vals = sub[sub["beta_bar"] == bb][col]
            assert r[f"β̄={bb:+g} mean"] == pytest.approx(vals.mean())
            assert r[f"β̄={bb:+g} std"] == pytest.approx(vals.std())
    all_n = structure_table(df, "weight_std")
    assert all_n.loc[0, "β̄=+0 mean"] == pytest.approx(df[df["beta_bar"] == 0.0]["analysis.test.weight_std.fc1"].mean())
    assert structure_table(df, "mean_activation").empty


def test_confidence_table_means_per_cell() -> None:
    df = pd.DataFrame(
        {
            "N": [2, 2, 2],
            "beta_bar": [0.0, 0.0, -1.0],
            "seed": [0, 1, 0],
            "analysis.test.member_entropy_mean": [1.0, 2.0, 0.5],
            "test.mean_js": [0.1, 0.3, 0.4],
        }
    )
    tab = confidence_table(df)
    assert tab.columns.tolist() == ["N", "beta_bar", "analysis.test.member_entropy_mean", "test.mean_js"]
    row = tab[tab["beta_bar"] == 0.0].iloc[0]
    assert row["analysis.test.member_entropy_mean"] == pytest.approx(1.5) and row["test.mean_js"] == pytest.approx(0.2)


def _record(store: ResultStore, name: str, beta: float, n: int, seed: int, acc: float) -> None:
    cfg = {
        "experiment": "colearn",
        "seed": seed,
        "ensemble": {"size": n},
        "objective": {"name": "colearning", "params": {"beta": beta, "normalize": True}},
    }
    results = {
        "beta_bar": beta,
        "beta": beta / n,
        "test": {"ens_acc_mean": acc, "member_acc": [acc - 0.1] * n},
        "wall_seconds": 1.0,
    }
    store.record_finished(name, name, {"objective.params.beta": beta, "seed": seed}, cfg, f"runs/{name}", results)


def test_load_sweep_frame_from_a_store(tmp_path: Path) -> None:
    store = ResultStore.open(tmp_path / "results.sqlite", "sid", "tiny", {"experiment": "colearn"})
    _record(store, "a", -1.0, 2, 0, 0.7)
    _record(store, "b", 0.0, 2, 0, 0.6)
    _record(store, "c", -1.0, 4, 1, 0.8)
    df = load_sweep_frame(tmp_path)
    assert len(df) == 3
    a = df.set_index("name").loc["a"]
    assert a["N"] == 2 and a["seed"] == 0 and a["objective"] == "colearning" and a["experiment"] == "colearn"
    assert a["beta_bar"] == -1.0 and a["beta"] == -0.5
    assert a["test.ens_acc_mean"] == pytest.approx(0.7)
    assert a["grid.objective.params.beta"] == -1.0
    assert member_columns(df) == ["test.member_acc.0", "test.member_acc.1", "test.member_acc.2", "test.member_acc.3"]
    assert math.isnan(a["test.member_acc.3"])  # N = 2 has two members
    assert df.set_index("name").loc["c", "beta"] == -0.25


def test_load_sweep_frame_refuses_a_foreign_file(tmp_path: Path) -> None:
    (tmp_path / "results.sqlite").write_bytes(b"not a database at all")
    with pytest.raises(StoreError):
        load_sweep_frame(tmp_path)
    assert (tmp_path / "results.sqlite").read_bytes() == b"not a database at all"


def test_runs_frame_of_nothing_is_empty() -> None:
    assert runs_frame([]).empty
