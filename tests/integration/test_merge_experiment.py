"""The ``merge`` experiment end to end: tables, plots, and fitness taken from the validation split only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from coterie.config import load_config
from coterie.experiments.runner import run_config

ROOT = Path(__file__).resolve().parents[2]


def _tiny() -> dict:
    raw = yaml.safe_load((ROOT / "configs" / "merge-ci.yaml").read_text())
    raw.update(
        members=3,
        epochs=2,
        data={"name": "mnist1d", "num_samples": 500, "val_fraction": 0.2, "test_fraction": 0.2},
        model={"name": "mlp", "kwargs": {"hidden": [16]}},
        mega={"population": 4, "generations": 3},
        pair_variants=["average", "aligned-mega-scalar", "mega-layer"],
        hierarchy_variants=["aligned-average"],
        interpolation_points=3,
    )
    return raw


def test_merge_experiment_writes_tables_and_plots(tmp_path: Path) -> None:
    results = run_config(load_config(_tiny()), tmp_path / "run")
    out = tmp_path / "run"
    assert json.loads((out / "results.json").read_text())["experiment"] == "merge"
    for f in ("config.yaml", "metrics.jsonl", "report.md", "fitness_progression.png", "interpolation.png"):
        assert (out / f).exists(), f
    pair = results["pair"]
    assert len(pair["parents"]) == 2 and set(pair["merged"]) == {"average", "aligned-mega-scalar", "mega-layer"}
    assert len(results["hierarchy"]["parents"]) == 3
    assert "hierarchy" in (out / "report.md").read_text().lower() or "Hierarchical" in (out / "report.md").read_text()
    for name in ("aligned-mega-scalar", "mega-layer"):
        r = pair["merged"][name]
        # the fitness MeGA maximised is the validation accuracy of the returned model, not its test accuracy
        assert r["history"]["best_fitness"] == pytest.approx(r["val_acc"])
        assert len(r["history"]["best"]) == 3
    assert not results["has_batchnorm"]


def test_unknown_variant_is_a_config_error() -> None:
    raw = _tiny()
    raw["pair_variants"] = ["mega-quantum"]
    with pytest.raises(ValueError, match="mega-quantum"):
        load_config(raw)


@pytest.mark.slow
def test_ci_recipe_runs(tmp_path: Path) -> None:
    results = run_config(load_config(ROOT / "configs" / "merge-ci.yaml"), tmp_path / "ci")
    assert "aligned-mega-scalar" in results["pair"]["merged"]


def test_disjoint_parents_train_on_their_own_halves(tmp_path: Path) -> None:
    raw = _tiny()
    raw.update(members=2, parents={"data": "disjoint"}, pair_variants=["mega-scalar"], hierarchy_variants=[])
    results = run_config(load_config(raw), tmp_path / "run")
    p = results["parents_data"]
    assert p["data"] == "disjoint" and p["data_order"] == "per_member"
    assert p["overlap_0_1"] == 0 and sum(p["samples_per_parent"]) == p["train_samples"]
    assert abs(p["samples_per_parent"][0] - p["samples_per_parent"][1]) <= 1
    for i in range(2):  # one Trainer per parent, each with its own run directory
        assert (tmp_path / "run" / "training" / f"parent{i}" / "metrics.jsonl").exists()
    cost = results["pair"]["merged"]["mega-scalar"]["cost"]
    assert cost["seconds"] > 0 and cost["python_peak_bytes"] > 0
