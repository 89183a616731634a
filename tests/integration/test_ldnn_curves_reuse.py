"""ldnn study v2 code: per-epoch validation curves of the arms, and reuse of another run's activation tables
(``activations_from``), on the seconds-sized ``-ci`` recipes."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import coterie
from coterie.cli import app
from coterie.experiments.artifacts.ldnn import load_activations
from coterie.experiments.fingerprint import RunDirMismatch, numeric_config
from coterie.experiments.ldnn import LdnnConfig, LdnnTask
from coterie.experiments.ldnn.arms import arm_epochs, arm_trainer, fit_arm
from coterie.experiments.ldnn.reuse import reused_activations, source_run
from coterie.experiments.runner import guard_run_dir
from coterie.utils.errors import InputError
from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]


def _raw(recipe: str, **overrides: object) -> dict:
    raw = yaml.safe_load((ROOT / f"configs/{recipe}.yaml").read_text())
    for key, value in overrides.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    return raw


def _run(raw: dict, tmp_path: Path, name: str) -> tuple[int, str, Path]:
    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump(raw))
    out = tmp_path / name
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(out)])
    return res.exit_code, res.output + str(res.exception or ""), out


@pytest.mark.parametrize("recipe", ["ldnn-mnist1d-ci", "ldnn-vanderpol-ci"])
def test_arm_curve_has_one_value_per_epoch_ending_at_the_final_metric(recipe: str, tmp_path: Path) -> None:
    cfg = LdnnConfig.model_validate(_raw(recipe, data={"num_samples": 600}))
    task = LdnnTask(cfg, torch.device("cpu"))
    ev = cfg.eval.model_copy(update={"steps": 40, "batch_size": 64})
    epochs = arm_epochs(ev.steps, task.train[0].shape[0], ev.batch_size)
    start = []
    for s in (11, 12):
        torch.manual_seed(s)
        start.append(task.build("nn", "sin"))
    models = copy.deepcopy(start)
    _, curves = fit_arm(models, task, ev, 7, tmp_path / "arm")
    assert epochs >= 2 and [len(c) for c in curves] == [epochs, epochs]
    assert [c[-1] for c in curves] == [task.evaluate(m, task.val) for m in models]
    # the arm's metrics.jsonl: one record per epoch holding every network's value
    lines = [json.loads(x) for x in (tmp_path / "arm" / "metrics.jsonl").read_text().splitlines()]
    assert [rec[f"val_{task.metric_name}"] for rec in lines] == [list(v) for v in zip(*curves)]
    # recording does not change training: the same weights as the Trainer without the recorder
    plain = copy.deepcopy(start)
    arm_trainer(plain, task, ev, 7, None, progress=False).fit(task.train)
    for a, b in zip(plain, models):
        for p, q in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(p, q, rtol=0, atol=0)
    # a finished arm resumes with its whole curve (the checkpoint's history)
    _, again = fit_arm(copy.deepcopy(start), task, ev, 7, tmp_path / "arm")
    assert again == curves


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny finished MNIST-1D ldnn run (the activations' source)."""
    raw = _raw("ldnn-mnist1d-ci", meta={"outer_steps": 2, "inner_steps": 2}, eval={"seeds": 1, "steps": 10})
    code, output, out = _run(raw, tmp_path_factory.mktemp("source"), "source")
    assert code == 0, output
    return out


def _reuse_raw(run: Path | str, **overrides: object) -> dict:
    over = {"eval": {"seeds": 2, "steps": 20, "baselines": []}, "activations_from": {"run": str(run), "model": "nn"}}
    return _raw("ldnn-vanderpol-ci", **{**over, **overrides})


def test_reuse_trains_the_arms_with_exactly_the_source_tables(source: Path, tmp_path: Path) -> None:
    code, output, out = _run(_reuse_raw(source), tmp_path, "reuse")
    assert code == 0, output
    src_tables = list(load_activations(source / "ldnn-mnist1d-nn-activations.safetensors").values())
    loaded = coterie.load(out)["nn"]
    assert loaded["meta"] is None and not (out / "ldnn-vanderpol-nn-meta.safetensors").exists()
    points = torch.cat([src_tables[0].grid, torch.linspace(-12, 12, 301)])  # sample points, between, beyond
    for mine, theirs in zip(loaded["activations"], src_tables, strict=True):
        assert torch.equal(mine.samples, theirs.samples)
        assert torch.equal(mine(points), theirs(points))  # the same linear interpolant
    # the arms' networks compute with those tables: the mix arm's hidden layer applies type1 then type2 blocks
    mix = loaded["arms"]["mix"][0]
    acts = [m for m in mix.modules() if type(m).__name__ == "InterpolatedActivation"]
    assert [a.samples.tolist() for a in acts] == [t.samples.tolist() for t in src_tables]
    res = json.loads((out / "results.json").read_text())
    fp = json.loads((source / "fingerprint.json").read_text())["fingerprint"]
    assert res["activations_from"] == {"run": str(source), "model": "nn", "task": "mnist1d", "fingerprint": fp}
    assert res["nn"]["meta"] is None and set(res["nn"]["val"]) == {"type1", "type2", "mix"}
    lines = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert not [x for x in lines if x["phase"] == "meta"]
    evals = [x for x in lines if x["phase"] == "eval"]
    assert len(evals) == 3 * 2 and all(len(x["val_mse_curve"]) >= 1 for x in evals)
    assert all(x["val_mse_curve"][-1] == x["val_mse"] for x in evals)
    _collected(source, out, tmp_path)
    # the source is fingerprinted: the same run directory refuses another source
    other = LdnnConfig.model_validate(_reuse_raw(tmp_path / "elsewhere"))
    assert numeric_config(other.model_dump(mode="json"))["activations_from"]["run"] == str(tmp_path / "elsewhere")
    with pytest.raises(RunDirMismatch, match="activations_from"):
        guard_run_dir(other, out)


def _collected(source: Path, reuse: Path, tmp_path: Path) -> None:
    """summarise.py --collect on the source and the reuse run: the reuse rows' source is the source run's task, only
    the source has a meta-learning row, and curves.csv holds every arm x seed curve with its epochs."""
    import csv

    mod = load_script(ROOT / "docs/results/learned-diversity/summarise.py", "summarise")
    mod.main(["--collect", str(source), str(reuse), "--runs", str(tmp_path / "runs.csv")])
    runs = list(csv.DictReader((tmp_path / "runs.csv").open()))
    assert {(r["task"], r["source"]) for r in runs} == {("mnist1d", "mnist1d"), ("vanderpol", "mnist1d")}
    assert [r["task"] for r in csv.DictReader((tmp_path / "meta.csv").open())] == ["mnist1d"]
    curves = list(csv.DictReader((tmp_path / "curves.csv").open()))
    assert len(curves) == len(runs) == 4 * 1 + 3 * 2
    assert all(len(r["val_curve"].split()) == int(r["epochs"]) >= 1 for r in curves)


def test_reuse_into_a_hamiltonian_network_keeps_the_samples_with_a_cubic_spline(source: Path) -> None:
    raw = _raw("ldnn-henonheiles-ci", models=["hnn"], activations_from={"run": str(source), "model": "nn"})
    cfg = LdnnConfig.model_validate(raw)
    src_tables = list(load_activations(source / "ldnn-mnist1d-nn-activations.safetensors").values())
    for mine, theirs in zip(reused_activations(cfg, "hnn", source_run(cfg)), src_tables, strict=True):
        assert mine.kind == "cubic" and theirs.kind == "linear"
        torch.testing.assert_close(mine(theirs.grid), theirs.samples, rtol=0, atol=2e-6)


def test_reuse_refuses_bad_run_directories(source: Path, tmp_path: Path) -> None:
    def check(raw: dict, match: str) -> None:
        cfg = LdnnConfig.model_validate(raw)
        with pytest.raises(InputError, match=match):
            reused_activations(cfg, "nn", source_run(cfg))

    check(_reuse_raw(tmp_path / "missing"), "no such run directory")
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "config.yaml").write_text("experiment: train\n")
    check(_reuse_raw(tmp_path / "train"), "not an ldnn run")
    check(_reuse_raw(tmp_path), "no config.yaml")
    check(_reuse_raw(source, activations_from={"run": str(source), "model": "hnn"}), "no exported activation tables")
    check(_reuse_raw(source, num_types=3), "num_types")
    check(_reuse_raw(source, export_range=5.0), "export_range")
    # through the CLI: a one-line error and exit code 2
    code, output, _ = _run(_reuse_raw(tmp_path / "missing"), tmp_path, "bad")
    assert code == 2 and "no such run directory" in output
