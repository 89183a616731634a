"""End to end: the codeepnet-age recipe through `coterie run`, simulated and from a real-format data file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from coterie.cli import app
from coterie.config import ConfigError, load_config
from coterie.data.methylation import simulate_methylation

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("codeepnet", "single_cnn", "svr", "gbr", "elastic_net")


def test_ci_recipe_reports_mae_for_pair_and_baselines(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app, ["run", str(ROOT / "configs/codeepnet-age-ci.yaml"), "--out", str(out), "--device", "cpu"]
    )
    assert res.exit_code == 0, res.output
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "results.json",
        "ga_history.png",
        "test_predictions.png",
        "validation_curves.png",
        "checkpoints/codeepnet.safetensors",
    ):
        assert (out / name).exists(), name
    r = json.loads((out / "results.json").read_text())
    for m in MODELS:
        assert np.isfinite(r["mae"][m]) and r["mae"][m] > 0, m
        assert {"mae", "rmse", "r2", "n_parameters", "train_seconds"} <= set(r["models"][m]), m
    assert r["models"]["single_cnn"]["n_parameters"] >= 1.5 * r["models"]["codeepnet"]["n_parameters"]
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    hist = r["search"]["history"]
    assert len(hist) == cfg["search"]["generations"] + 1
    assert r["search"]["best_val_mae"] == min(h["best_fitness"] for h in hist)
    assert r["data"]["n_train"] + r["data"]["n_val"] + r["data"]["n_test"] == r["data"]["n_samples"]
    phases = [json.loads(line)["phase"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert phases.count("search") == len(hist) and "train" in phases
    assert set(r["claims"]) >= {"pair_beats_single_cnn_mae", "pair_beats_svr_mae", "pair_beats_gbr_mae"}


def _write_geo(path: Path, n: int = 90, p: int = 60) -> None:
    d = simulate_methylation(n, p, 20, seed=1, missing_rate=0.01)
    ids = list(d.betas.index)
    ages = [f'"age: {a}"' for a in d.ages]
    ages[0] = '"age: NA"'  # one sample without an age: dropped and counted, not silently
    lines = [
        '!Series_title\t"simulated"',
        "!Sample_geo_accession\t" + "\t".join(f'"{s}"' for s in ids),
        "!Sample_characteristics_ch1\t" + "\t".join(ages),
        "!series_matrix_table_begin",
        '"ID_REF"\t' + "\t".join(f'"{s}"' for s in ids),
    ]
    for cpg in d.betas.columns:
        vals = ["null" if np.isnan(v) else f"{v:.4f}" for v in d.betas[cpg]]
        lines.append(f'"{cpg}"\t' + "\t".join(vals))
    lines.append("!series_matrix_table_end")
    path.write_text("\n".join(lines) + "\n")


def test_data_file_geo_series_matrix(tmp_path: Path) -> None:
    geo = tmp_path / "GSE0_series_matrix.txt"
    _write_geo(geo)
    cfg = yaml.safe_load((ROOT / "configs/codeepnet-age-ci.yaml").read_text())
    cfg["search"]["enabled"] = False
    cfg["data"]["n_selected"] = 30
    cfg["baselines"]["sklearn"] = ["elastic_net"]
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--data-file", str(geo), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    assert r["data"]["source"] == str(geo)
    assert r["data"]["n_samples"] == 89 and r["data"]["dropped_without_age"] == 1
    assert r["data"]["n_selected"] == 30
    assert np.isfinite(r["mae"]["codeepnet"]) and np.isfinite(r["mae"]["elastic_net"])
    assert yaml.safe_load((out / "config.yaml").read_text())["data_file"] == str(geo)


def test_invalid_codeepnet_config_fails_early(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model\.transfer"):
        load_config({"experiment": "codeepnet", "model": {"transfer": "telepathy"}})
    with pytest.raises(ConfigError, match=r"baselines\.sklearn"):
        load_config({"experiment": "codeepnet", "baselines": {"sklearn": ["random_forest"]}})
    with pytest.raises(ConfigError, match="unknown field"):
        load_config({"experiment": "codeepnet", "search": {"populaton_size": 3}})
    for name in ("codeepnet-age-ci", "codeepnet-age", "codeepnet-age-paper"):
        cfg = load_config(ROOT / "configs" / f"{name}.yaml")
        assert cfg.experiment == "codeepnet" and cfg.data_file is None  # type: ignore[attr-defined]


@pytest.mark.slow
def test_same_config_and_seed_give_same_numbers(tmp_path: Path) -> None:
    results = []
    for i in range(2):
        out = tmp_path / f"run{i}"
        res = CliRunner().invoke(
            app, ["run", str(ROOT / "configs/codeepnet-age-ci.yaml"), "--out", str(out), "--device", "cpu"]
        )
        assert res.exit_code == 0, res.output
        results.append(json.loads((out / "results.json").read_text()))
    assert results[0]["mae"] == results[1]["mae"]
    assert results[0]["chromosome"] == results[1]["chromosome"]
