"""``coterie run``/``sweep`` and the run-directory contract, end to end through the CLI: a changed config stops with
exit 2 leaving every byte as it was; the same config does nothing; ``--restart`` moves the old run aside; ``--set``
is validated and recorded; ``--version``; ``--device cuda`` without CUDA; a sweep file given to ``run``; a failing
run (exit 1); a sweep whose run directory holds another configuration."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

import coterie
from coterie.cli import app
from coterie.experiments import runner
from coterie.experiments.fingerprint import FINGERPRINT_FILE
from coterie.sweep.execute import execute_run
from coterie.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
CI = str(ROOT / "configs" / "colearn-mnist1d-ci.yaml")


def cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and modification time."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("guard") / "run"
    res = cli("run", CI, "--out", str(out))
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture
def run_copy(finished_run: Path, tmp_path: Path) -> Path:
    """A private copy of the finished ci run (copy2 keeps the modification times)."""
    return Path(shutil.copytree(finished_run, tmp_path / "run", copy_function=shutil.copy2))


@pytest.fixture
def count_epochs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    trained: list[int] = []
    real = Trainer._run_epoch

    def counting(self: Trainer, epoch: int, *args: Any, **kw: Any) -> Any:
        trained.append(epoch)
        return real(self, epoch, *args, **kw)

    monkeypatch.setattr(Trainer, "_run_epoch", counting)
    return trained


def test_changed_config_stops_with_exit_2_and_changes_no_byte(run_copy: Path, count_epochs: list[int]) -> None:
    before = snapshot(run_copy)
    assert list((run_copy / "checkpoints").glob("*.safetensors")) and "results.json" in before
    res = cli("run", CI, "--out", str(run_copy), "--set", "objective.params.beta=0")
    assert res.exit_code == 2, res.output
    assert res.output.count("\n") == 1  # one line
    assert "objective.params.beta: -0.5 → 0" in res.output and "--restart" in res.output
    assert snapshot(run_copy) == before
    assert count_epochs == []


def test_same_config_does_nothing(run_copy: Path, count_epochs: list[int]) -> None:
    before = snapshot(run_copy)
    for extra in ([], ["--device", "cpu", "--set", "name=renamed", "--set", "checkpoint_every=2"]):
        res = cli("run", CI, "--out", str(run_copy), *extra)  # fields that do not change the numbers
        assert res.exit_code == 0, res.output
        assert "already finished" in res.output
    assert snapshot(run_copy) == before
    assert count_epochs == []


def test_old_run_without_fingerprint_is_guarded_by_its_config_yaml(run_copy: Path) -> None:
    (run_copy / FINGERPRINT_FILE).unlink()
    before = snapshot(run_copy)
    res = cli("run", CI, "--out", str(run_copy), "--set", "epochs=3")
    assert res.exit_code == 2, res.output
    assert "epochs: 8 → 3" in res.output
    assert snapshot(run_copy) == before


def test_restart_moves_the_old_run_aside(run_copy: Path, count_epochs: list[int]) -> None:
    before = snapshot(run_copy)
    res = cli("run", CI, "--out", str(run_copy), "--set", "objective.params.beta=0", "--set", "epochs=2", "--restart")
    assert res.exit_code == 0, res.output
    (previous,) = run_copy.glob(".previous-*")
    assert {k: v[0] for k, v in snapshot(previous).items()} == {k: v[0] for k, v in before.items()}
    assert count_epochs == [0, 1]
    cfg = yaml.safe_load((run_copy / "config.yaml").read_text())
    assert cfg["objective"]["params"]["beta"] == 0 and cfg["epochs"] == 2
    assert json.loads((run_copy / FINGERPRINT_FILE).read_text())["config"]["objective"]["params"]["beta"] == 0


def test_set_is_validated_and_recorded(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = cli(
        "run",
        CI,
        "--out",
        str(out),
        "--set",
        "objective.params.beta=-1",
        "--set",
        "model.kwargs.hidden=[16]",
        "--set",
        "epochs=1",
    )
    assert res.exit_code == 0, res.output
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["objective"]["params"]["beta"] == -1 and cfg["model"]["kwargs"]["hidden"] == [16] and cfg["epochs"] == 1
    fp = json.loads((out / FINGERPRINT_FILE).read_text())["config"]
    assert fp["model"]["kwargs"] == {"hidden": [16]}  # before inference: as the user gave it
    for bad, named in (
        ("objective.params.bta=0", "bta"),
        ("optimizr.lr=0.1", "optimizr"),
        ("epochs=-1", "epochs"),
        ("epochs", "key.path=value"),
    ):
        res = cli("run", CI, "--out", str(tmp_path / "bad"), "--set", bad)
        assert res.exit_code == 2, res.output
        assert named in res.output
    assert not (tmp_path / "bad").exists()


def test_version() -> None:
    res = cli("--version")
    assert res.exit_code == 0
    assert res.output == f"coterie {coterie.__version__}\n" == "coterie 0.1.0\n"


def test_help_states_exit_codes_and_device_choices() -> None:
    text = " ".join(cli("--help").output.split())
    assert "Exit codes: 0 done; 1 the run failed" in text and "2 bad input or usage" in text
    for cmd in ("run", "sweep"):
        assert "auto|cpu|cuda" in cli(cmd, "--help").output
        res = cli(cmd, CI, "--device", "gpu")
        assert res.exit_code == 2 and "gpu" in res.output


@pytest.mark.parametrize("how", ["option", "config"])
def test_cuda_without_cuda_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    out = tmp_path / "run"
    args = ["--device", "cuda"] if how == "option" else ["--set", "device=cuda"]
    for cmd in ("run", "sweep"):
        config = CI if cmd == "run" else str(ROOT / "configs" / "colearn-sweep-ci.yaml")
        res = cli(cmd, config, "--out", str(out), *args)
        assert res.exit_code == 2, res.output
        assert res.output.count("\n") == 1 and "CUDA is not available" in res.output
        assert not out.exists()


def test_sweep_file_given_to_run(tmp_path: Path) -> None:
    sweep_file = str(ROOT / "configs" / "colearn-sweep-ci.yaml")
    res = cli("run", sweep_file, "--out", str(tmp_path / "run"))
    assert res.exit_code == 2
    assert res.output == f"{sweep_file} is a sweep file: use `coterie sweep {sweep_file}`\n"
    assert not (tmp_path / "run").exists()


def test_a_failing_run_exits_1_with_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("the members diverged\nsecond line")

    monkeypatch.setattr(runner, "run_config", boom)
    res = cli("run", CI, "--out", str(tmp_path / "run"))
    assert res.exit_code == 1
    assert res.output == "failed: RuntimeError: the members diverged (--verbose shows the traceback)\n"
    res = cli("run", CI, "--out", str(tmp_path / "run"), "--verbose")
    assert res.exit_code == 1
    assert "Traceback (most recent call last)" in res.output and 'raise RuntimeError("the members' in res.output


# ------------------------------------------------------------------------------------------------ sweeps
def small_sweep(path: Path) -> Path:
    raw = yaml.safe_load((ROOT / "configs" / "colearn-sweep-ci.yaml").read_text())
    raw["sweep"]["grid"] = {"seed": [0]}
    raw.update(epochs=1)
    raw["data"]["num_samples"] = 200
    raw["model"]["kwargs"] = {"hidden": [8]}
    raw["analysis"] = {"trajectory_every": 1, "trajectory_samples": 8, "activity_samples": 8}
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_sweep_never_reuses_a_run_dir_of_another_config(tmp_path: Path, count_epochs: list[int]) -> None:
    config = small_sweep(tmp_path / "sweep.yaml")
    out = tmp_path / "out"
    res = cli("sweep", str(config), "--out", str(out))
    assert res.exit_code == 0, res.output
    (run_dir,) = (out / "runs").iterdir()
    # the run directory now holds another configuration (as if coterie's defaults had changed since), and the
    # database is gone: the sweep would otherwise record results.json as this grid point's result
    rec = json.loads((run_dir / FINGERPRINT_FILE).read_text())
    rec["config"]["optimizer"]["lr"] = 0.5
    (run_dir / FINGERPRINT_FILE).write_text(json.dumps(rec))
    (out / "results.sqlite").unlink()
    before, n_trained = snapshot(out), len(count_epochs)
    res = cli("sweep", str(config), "--out", str(out))
    assert res.exit_code == 2, res.output
    assert run_dir.name in res.output and "optimizer.lr: 0.5 → 0.05" in res.output and "move it away" in res.output
    assert snapshot(out) == before and len(count_epochs) == n_trained
    # the worker refuses it too (a directory changed under a running sweep): failed, not finished, nothing touched
    cfg = yaml.safe_load((run_dir / "config.yaml").read_text())
    got = execute_run(cfg, str(run_dir))
    assert got["ok"] is False and "optimizer.lr" in got["error"] and "Traceback" not in got["error"]
    assert snapshot(out) == before


def test_sweep_set_changes_the_base_and_refuses_grid_fields(tmp_path: Path) -> None:
    config = small_sweep(tmp_path / "sweep.yaml")
    out = tmp_path / "out"
    res = cli("sweep", str(config), "--out", str(out), "--set", "seed=3")
    assert res.exit_code == 2 and "grid field" in res.output and not out.exists()
    res = cli("sweep", str(config), "--out", str(out), "--set", "optimizer.lerning_rate=1")
    assert res.exit_code == 2 and "optimizer.lerning_rate" in res.output and not out.exists()
    res = cli("sweep", str(config), "--out", str(out), "--set", "batch_size=32")
    assert res.exit_code == 0, res.output
    (run_dir,) = (out / "runs").iterdir()
    assert yaml.safe_load((run_dir / "config.yaml").read_text())["batch_size"] == 32
