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
from coterie.experiments.ldnn import LdnnConfig, LdnnTask
from coterie.experiments.ldnn.arms import EvalSettings, arm_epochs, fit_arm
from coterie.neurons import LearnedActivation, export_activation

ROOT = Path(__file__).resolve().parents[2]


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
        "mnist1d-nn-meta-curve.png",
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
    # the meta-network's validation curve, one value per outer step run (3 < patience: no plateau stop yet)
    assert r["meta"]["outer_steps_run"] == 3 and r["meta"]["stopped"] == "max_steps"
    assert len(r["meta"]["val_loss_curve"]) == 3 and all(v > 0 for v in r["meta"]["val_loss_curve"])
    assert (out / "arms" / "mnist1d-nn-mix" / "metrics.jsonl").exists()  # each arm trained by the Trainer
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert sum(x["phase"] == "meta" for x in lines) == 3
    assert [x["val_loss"] for x in lines if x["phase"] == "meta"] == r["meta"]["val_loss_curve"]
    assert sum(x["phase"] == "eval" for x in lines) == 2 * 4


def test_ldnn_config_is_validated() -> None:
    with pytest.raises(Exception, match="bogus"):
        load_config({"experiment": "ldnn", "task": "mnist1d", "meta": {"bogus": 1}})
    cfg = load_config(ROOT / "configs/ldnn-henonheiles.yaml")
    assert isinstance(cfg, LdnnConfig) and cfg.models == ["nn", "hnn"]
    for name in ("mnist1d", "vanderpol", "henonheiles"):
        for size in ("-ci", "", "-paper"):
            assert isinstance(load_config(ROOT / f"configs/ldnn-{name}{size}.yaml"), LdnnConfig)


def _alone(model: torch.nn.Module, task: LdnnTask, ev: EvalSettings, seed: int, s: int, members: int) -> float:
    """Literal reference: Adam on one network over member s's per-member epoch orders; last epoch's mean loss."""
    from coterie.training.batch_order import epoch_order

    x, y = task.train
    opt = torch.optim.Adam(model.parameters(), lr=ev.lr)
    model.train()
    losses: list[float] = []
    for epoch in range(arm_epochs(ev.steps, x.shape[0], ev.batch_size)):
        order = epoch_order(x.shape[0], seed, epoch, "per_member", False, members)[s]
        losses = []
        for idx in order.split(ev.batch_size):
            loss = task.loss(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    return sum(losses) / len(losses)


@pytest.mark.parametrize(("task", "kind"), [("mnist1d", "nn"), ("henonheiles", "hnn"), ("vanderpol", "nn")])
def test_arm_trainer_trains_each_network_exactly_as_alone(task: str, kind: str, tmp_path: Path) -> None:
    cfg = LdnnConfig(
        task=task,
        models=[kind],
        hidden=[16],
        data={"num_samples": 600, "trajectories": 6, "trajectories_per_energy": 2, "t_end": 10.0},
    )
    t = LdnnTask(cfg, torch.device("cpu"))
    interp = "cubic" if kind == "hnn" else "linear"
    exported = [
        export_activation(LearnedActivation("sin", 8), kind=interp),
        export_activation(LearnedActivation("tanh", 8), kind=interp),
    ]
    ev = EvalSettings(steps=15, lr=1e-2, batch_size=32)
    alone = []
    for s in (3, 4):
        torch.manual_seed(s)
        alone.append(t.build(kind, exported))
    together = copy.deepcopy(alone)
    losses_alone = [_alone(m, t, ev, 7, s, len(alone)) for s, m in enumerate(alone)]
    losses_together, _ = fit_arm(together, t, ev, 7, tmp_path / "arm")
    torch.testing.assert_close(torch.tensor(losses_together), torch.tensor(losses_alone), rtol=1e-4, atol=1e-6)
    for a, b in zip(alone, together):
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=1e-4, atol=1e-5)
    assert (tmp_path / "arm" / "metrics.jsonl").exists()
    # a finished arm resumes as finished: the same weights come back without training again
    again = copy.deepcopy(alone)
    fit_arm(again, t, ev, 7, tmp_path / "arm")
    for a, b in zip(together, again):
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)


def test_hamiltonian_configs_refuse_a_linear_export_and_piecewise_linear_baselines() -> None:
    with pytest.raises(Exception, match="export_kind 'linear' with models \\[hnn\\]"):
        load_config({"experiment": "ldnn", "task": "henonheiles", "models": ["hnn"], "export_kind": "linear"})
    with pytest.raises(Exception, match="relu"):
        load_config({"experiment": "ldnn", "task": "henonheiles", "models": ["hnn"], "eval": {"baselines": ["relu"]}})
    with pytest.raises(Exception, match="Hamiltonian system"):
        load_config({"experiment": "ldnn", "task": "vanderpol", "models": ["hnn"]})
    for size in ("-ci", "", "-paper"):
        cfg = load_config(ROOT / f"configs/ldnn-henonheiles{size}.yaml")
        assert cfg.export_kind in ("cubic", "auto")


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
