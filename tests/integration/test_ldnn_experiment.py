"""End to end: the ``ldnn`` recipes (seed 004) through ``coterie run`` and the seed-batched trainer."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

from coterie.cli import app
from coterie.config import load_config
from coterie.experiments.ldnn import LdnnConfig, _Task, _train, _train_stacked
from coterie.neurons import LearnedActivation, export_activation

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tiny(recipe: str, tmp_path: Path, **overrides: object) -> Path:
    raw = yaml.safe_load((ROOT / f"configs/{recipe}.yaml").read_text())
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    path = tmp_path / f"{recipe}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_ldnn_mnist1d_run_writes_the_study(tmp_path: Path) -> None:
    cfg = _tiny(
        "ldnn-mnist1d-ci",
        tmp_path,
        meta={"outer_steps": 3, "inner_steps": 3},
        eval={"seeds": 2, "steps": 20},
        data={"num_samples": 600},
    )
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(cfg), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in (
        "config.yaml",
        "metrics.jsonl",
        "results.json",
        "mnist1d-nn-activation-evolution.png",
        "mnist1d-nn-boxplot.png",
        "mnist1d-nn-participation.png",
        "mnist1d-nn-hessian-esd.png",
    ):
        assert (out / name).exists(), name
    r = json.loads((out / "results.json").read_text())["nn"]
    assert set(r["val"]) == {"type1", "type2", "mix", "relu"}
    assert all(0 <= s["mean"] <= 1 and s["n"] == 2 for s in r["val"].values())
    assert all(1 / 32 <= s["mean"] <= 1 for s in r["participation_r"].values())
    assert all(s["n"] == 1 for s in r["hessian_trace"].values())
    assert isinstance(r["mix_vs_pure_val"]["mix_better_on_average_than_each_pure"], bool)
    assert r["meta"]["export_max_abs_error_on_range"] < 0.05
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert sum(x["phase"] == "meta" for x in lines) == 3
    assert sum(x["phase"] == "eval" for x in lines) == 2 * 4


def test_ldnn_config_is_validated() -> None:
    with pytest.raises(Exception, match="bogus"):
        load_config({"experiment": "ldnn", "task": "mnist1d", "meta": {"bogus": 1}})
    cfg = load_config(ROOT / "configs/ldnn-henonheiles.yaml")
    assert isinstance(cfg, LdnnConfig) and cfg.models == ["nn", "hnn"]
    for name in ("mnist1d", "vanderpol", "henonheiles"):
        for size in ("-ci", "", "-paper"):
            assert isinstance(load_config(ROOT / f"configs/ldnn-{name}{size}.yaml"), LdnnConfig)


@pytest.mark.parametrize(("task", "kind"), [("mnist1d", "nn"), ("henonheiles", "hnn"), ("vanderpol", "nn")])
def test_seed_stack_trains_each_network_exactly_as_alone(task: str, kind: str) -> None:
    cfg = LdnnConfig(
        task=task,
        hidden=[16],
        data={"num_samples": 600, "trajectories": 6, "trajectories_per_energy": 2, "t_end": 10.0},
    )
    t = _Task(cfg, torch.device("cpu"))
    exported = [export_activation(LearnedActivation("sin", 8)), export_activation(LearnedActivation("tanh", 8))]
    seeds = [3, 4]
    alone = []
    for s in seeds:
        torch.manual_seed(s)
        alone.append(t.build(kind, exported))
    stacked = copy.deepcopy(alone)
    losses_alone = [_train(m, t, 15, 1e-2, 32, s) for m, s in zip(alone, seeds)]
    losses_stacked = _train_stacked(stacked, t, 15, 1e-2, 32, seeds)
    torch.testing.assert_close(torch.tensor(losses_stacked), torch.tensor(losses_alone), rtol=1e-4, atol=1e-6)
    for a, b in zip(alone, stacked):
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("recipe", ["ldnn-vanderpol-ci", "ldnn-henonheiles-ci"])
def test_physics_ci_recipes_run(recipe: str, tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(ROOT / f"configs/{recipe}.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    results = json.loads((out / "results.json").read_text())
    for kind in yaml.safe_load((ROOT / f"configs/{recipe}.yaml").read_text()).get("models", ["nn"]):
        assert results[kind]["metric"] == "mse"
        assert all(s["mean"] >= 0 for s in results[kind]["val"].values())
    if "hnn" in results:
        roll = results["hnn"]["rollout"]
        assert roll["learned_energy_max_abs_drift_leapfrog"] >= 0
    assert (out / f"{results['task']}-orbits.png").exists()
