"""The ``robustness`` recipe end to end at CI size: files, Table 1 layout, curves, CKA, and early config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from coterie.config import ConfigError, load_config
from coterie.experiments import registry
from coterie.experiments.rundir import RunDir

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _run(raw: dict, out: Path) -> dict:
    cfg = load_config(raw)
    rd = RunDir(out)
    rd.write_config(cfg.model_dump())
    res = registry.get("robustness").run(cfg, rd)
    rd.write_results(res)
    return res


def _smaller(raw: dict) -> dict:
    """The CI recipe trimmed further for the default test run (every method and figure still exercised)."""
    attack = {**raw["attack"], "eps": [0.03, 0.07], "whitebox_eps": [0.07], "steps": 2, "n_eval": 24}
    return {**raw, "max_steps_per_epoch": 2, "attack": attack}


@pytest.mark.slow
def test_ci_recipe_as_shipped(tmp_path: Path) -> None:
    raw = yaml.safe_load((CONFIGS / "robustness-ci.yaml").read_text())
    res = _run(raw, tmp_path)
    assert res["table1"]["blackbox"]["eps"] == 0.07


def test_recipe_end_to_end(tmp_path: Path) -> None:
    raw = _smaller(yaml.safe_load((CONFIGS / "robustness-ci.yaml").read_text()))
    res = _run(raw, tmp_path)
    methods = ["unprotected", "ADP", "GAL", "DVERGE", "PARL", "PARL/1"]
    assert res["methods"] == methods
    for mode in ("blackbox", "whitebox"):
        rows = res["table1"][mode]["rows"]
        assert set(rows) == set(methods)
        for row in rows.values():
            assert set(row) == {"clean", "fgsm", "bim", "mim", "pgd"}
            assert all(0.0 <= v["mean"] <= 1.0 for v in row.values())
    assert res["table1"]["blackbox"]["eps"] == 0.07
    assert len(res["curves"]["blackbox"]["pgd"]["PARL"]["mean"]) == 2
    assert len(res["curves"]["whitebox"]["pgd"]["PARL"]["mean"]) == 1
    assert set(res["cka_mean"]) == set(methods)
    assert res["grad_similarity_layers"] == ["conv1", "conv2", "conv3"]
    for f in ("blackbox.png", "whitebox.png", "cka.png", "parl_ablation.png"):
        assert (tmp_path / f).stat().st_size > 1000
    assert json.loads((tmp_path / "results.json").read_text())["eps_max"] == 0.07
    assert (tmp_path / "repeat0" / "PARL" / "metrics.jsonl").exists()


def test_bad_configs_fail_before_any_work(tmp_path: Path) -> None:
    raw = yaml.safe_load((CONFIGS / "robustness-ci.yaml").read_text())
    bad_eps = {**raw, "attack": {**raw["attack"], "eps": [0.03, 1.5]}}
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        load_config(bad_eps)
    bad_k = {**raw, "parl_ablation": [9]}
    with pytest.raises(ValueError, match="exceeds"):
        _run(bad_k, tmp_path / "k")
    assert not (tmp_path / "k" / "repeat0").exists()  # nothing was trained
    with pytest.raises(ConfigError, match="init_from"):
        load_config({**raw, "methods": [{"label": "a", "init_from": "b"}]})


@pytest.mark.parametrize(
    "name", ["robustness.yaml", "robustness-seeds.yaml", "robustness-paper.yaml", "robustness-paper-cifar100.yaml"]
)
def test_shipped_configs_validate(name: str) -> None:
    load_config(CONFIGS / name)
