"""The ``robustness`` recipe end to end at CI size: files, Table 1 layout, curves, CKA, and early config errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from coterie.config import ConfigError, load_config
from coterie.experiments import registry
from coterie.utils.rundir import RunDir

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


def test_rules_records_mim_decays_and_method_model_kwargs(tmp_path: Path) -> None:
    """Both scoring rules reported, one record per (seed, method, setting, attack, ε, rule), MIM with μ = 1 beside
    μ = 0.01, and GAL's leaky-ReLU members saved and loaded as trained."""
    raw = yaml.safe_load((CONFIGS / "robustness-ci.yaml").read_text())
    gal = {
        "label": "GAL",
        "objective": {"name": "gal", "params": {"lam": 0.5}},
        "model_kwargs": {"activation": "leaky_relu"},
        "augment": {"gaussian_noise_std": 0.045, "gaussian_noise_prob": 0.5},
    }
    raw = {
        **raw,
        "methods": [raw["methods"][0], gal],
        "parl_ablation": [],
        "cka": False,
        "max_steps_per_epoch": 2,
        "attack": {
            **raw["attack"],
            "names": ["mim", "pgd"],
            "eps": [0.05],
            "whitebox_eps": [0.05],
            "steps": 2,
            "n_eval": 16,
            "extra_mim_decays": [1.0],
        },
    }
    res = _run(raw, tmp_path)
    assert res["rules"] == ["vote", "mean"] and res["attacks"] == ["mim", "pgd", "mim_mu1"]
    for rule in ("vote", "mean"):
        assert set(res["table1_by_rule"][rule]["whitebox"]["rows"]["GAL"]) == {"clean", "mim", "pgd", "mim_mu1"}
    assert res["table1"] == res["table1_by_rule"]["vote"]
    recs = res["records"]
    # clean: 2 methods × 2 rules; attacks: 2 settings × 3 attacks × 1 ε × 2 methods × 2 rules
    assert len(recs) == 2 * 2 + 2 * 3 * 2 * 2
    assert set(recs[0]) == {"seed", "method", "setting", "attack", "eps", "rule", "accuracy"}
    assert {r["rule"] for r in recs} == {"vote", "mean"} and all(0 <= r["accuracy"] <= 1 for r in recs)
    clean = {(r["method"], r["rule"]): r["accuracy"] for r in recs if r["setting"] == "clean"}
    assert clean[("GAL", "mean")] == res["repeats"][0]["clean"]["GAL"]["mean"]
    loaded = registry.get("robustness").load(load_config(raw), RunDir(tmp_path), "final", None)
    acts = {type(m).__name__ for m in loaded["GAL"].modules()} & {"ReLU", "LeakyReLU"}
    assert acts == {"LeakyReLU"}
    assert "LeakyReLU" not in {type(m).__name__ for m in loaded["unprotected"].modules()}
