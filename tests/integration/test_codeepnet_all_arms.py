"""The CI recipe with the issue-22 arms on: transfer off, independent CNNs, the searched single CNN, the cost term."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from coterie.cli import app
from coterie.cooperative.pareto import pareto_front

ROOT = Path(__file__).resolve().parents[2]


def test_ci_recipe_with_every_arm(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(ROOT / "configs/codeepnet-age-ci.yaml"),
            "--out",
            str(out),
            "--device",
            "cpu",
            "--set",
            "ablations=[none]",
            "--set",
            "independent_cnns=true",
            "--set",
            "baselines.single_cnn_search=true",
            "--set",
            "search.cost=parameters",
            "--set",
            "search.cost_weight=0.01",
        ],
    )
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    m = r["models"]
    assert {"codeepnet", "codeepnet[none]", "independent_cnns", "single_cnn", "single_cnn_searched"} <= set(m)
    # same networks: the transfer-off pair and the independent CNNs have equal parameter counts
    assert m["codeepnet[none]"]["n_parameters"] == m["independent_cnns"]["n_parameters"]
    assert m["independent_cnns"]["runs"][0]["swaps"] == 0 and m["codeepnet[none]"]["runs"][0]["swaps"] > 0
    for search in (r["search"], r["single_cnn_search"]):
        rows = search["evaluated"]
        assert len(rows) == search["evaluations"]
        for row in rows:  # fitness = val MAE + 0.01 per 1,000 parameters
            assert abs(row["fitness"] - row["val_mae"] - 0.01 * row["parameters"] / 1000) < 1e-9
        assert search["best_val_mae"] == min(row["fitness"] for row in rows)
        finite = [row for row in rows if row["val_mae"] < float("inf")]
        assert search["pareto_front"] == [finite[i]["key"] for i in pareto_front(finite)]
    assert r["single_cnn_search"]["fitness_seeds"] == 2
    best = min(r["single_cnn_search"]["history"], key=lambda h: h["best_fitness"])["best"]
    assert m["single_cnn_searched"]["learning_rate"] == best["learning_rate"]  # its own gene, not the pair's
    assert (out / "ga_pareto.png").exists()
