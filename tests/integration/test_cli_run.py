"""End to end: `coterie run` on the bundled -ci config leaves every promised file."""

import json
from pathlib import Path

import yaml
from typer.testing import CliRunner

from coterie.cli import app

ROOT = Path(__file__).resolve().parents[2]


def test_run_ci_config_writes_run_directory(tmp_path):
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(ROOT / "configs/colearn-mnist1d-ci.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    for name in ("config.yaml", "metrics.jsonl", "results.json", "learning_curves.png"):
        assert (out / name).exists(), name
    assert list((out / "checkpoints").glob("*.safetensors"))
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["objective"]["name"] == "colearning"
    results = json.loads((out / "results.json").read_text())
    assert 0 <= results["test"]["ens_acc_mean"] <= 1
    lines = (out / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == cfg["epochs"]
    # a second run of the same config into the same directory does not train again
    res2 = CliRunner().invoke(app, ["run", str(ROOT / "configs/colearn-mnist1d-ci.yaml"), "--out", str(out)])
    assert res2.exit_code == 0
    assert len((out / "metrics.jsonl").read_text().splitlines()) == len(lines)


def test_invalid_config_fails_before_training(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("experiment: train\nepochs: -1\noptimizer: {name: lbfgs}\n")
    res = CliRunner().invoke(app, ["run", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2
    assert "epochs" in res.output and "optimizer.name" in res.output
    assert not (tmp_path / "o").exists()


def test_list_shows_registries():
    res = CliRunner().invoke(app, ["list"])
    assert res.exit_code == 0
    for word in ("mlp", "colearning", "mnist1d", "train"):
        assert word in res.output


def test_a_folder_named_like_a_bundled_config_does_not_hide_it(tmp_path, monkeypatch):
    # `--out colearn-mnist1d-ci` in the working directory, then the same command again: the name still means the
    # bundled config (the second run finds its finished run directory and does nothing)
    monkeypatch.chdir(tmp_path)
    args = ["run", "colearn-mnist1d-ci", "--out", "colearn-mnist1d-ci", "--set", "epochs=1"]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0, again.output
    assert (tmp_path / "colearn-mnist1d-ci" / "results.json").is_file()
