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
