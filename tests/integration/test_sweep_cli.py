"""``coterie sweep`` end to end: a (shrunk) copy of the bundled ci sweep fills results.sqlite and a second invocation
starts nothing; a bad grid or a corrupt database fails before any run; a sweep killed with SIGKILL loses no finished
run and the re-run completes the rest (resuming from checkpoints); the Ray backend on a local instance."""

from __future__ import annotations

import itertools
import json
import multiprocessing as mp
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from typer.testing import CliRunner

from coterie.cli import app
from coterie.sweep import DB_NAME, ResultStore, load_sweep, run_sweep
from coterie.sweep.backends import pick_start_method
from coterie.training.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
CI_SWEEP = ROOT / "configs" / "colearn-sweep-ci.yaml"


def shrunk_ci(path: Path, grid: dict[str, list[Any]] | None = None, **changes: Any) -> Path:
    """The bundled ci sweep with fewer grid points, samples and epochs, written to ``path``."""
    raw = yaml.safe_load(CI_SWEEP.read_text())
    raw["sweep"]["grid"] = grid or {"objective.params.beta": [-1.0, 0.5], "ensemble.size": [2, 3], "seed": [0]}
    raw["data"]["num_samples"] = 200
    raw["model"]["kwargs"] = {"hidden": [16]}
    raw["epochs"] = 2
    raw["analysis"] = {"trajectory_every": 1, "trajectory_samples": 16, "activity_samples": 16}
    raw.update(changes)
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def grid_points(config: Path) -> list[dict[str, Any]]:
    grid = yaml.safe_load(config.read_text())["sweep"]["grid"]
    return [dict(zip(grid, values)) for values in itertools.product(*grid.values())]


def db_rows(db: Path) -> dict[str, dict[str, Any]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        con.row_factory = sqlite3.Row
        return {r["run_id"]: dict(r) for r in con.execute("SELECT * FROM runs")}
    finally:
        con.close()


def finished_rows(db: Path) -> dict[str, dict[str, Any]]:
    return {k: r for k, r in db_rows(db).items() if r["status"] == "finished"}


def integrity(db: Path) -> str:
    con = sqlite3.connect(str(db), timeout=30)
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def mtimes(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in sorted(root.rglob("*")) if p.is_file()}


def sweep(*args: str) -> Any:
    return CliRunner().invoke(app, ["sweep", *args])


def check_complete(out: Path, config: Path) -> dict[str, dict[str, Any]]:
    """Every grid point of ``config`` is recorded finished in ``out/results.sqlite``, with its run directory."""
    assert integrity(out / "results.sqlite") == "ok"
    rows = finished_rows(out / "results.sqlite")
    assert sorted(json.dumps(json.loads(r["overrides"]), sort_keys=True) for r in rows.values()) == sorted(
        json.dumps(p, sort_keys=True) for p in grid_points(config)
    )
    for r in rows.values():
        results = json.loads((out / r["run_dir"] / "results.json").read_text())
        assert json.loads(r["metrics"])["test.ens_acc_mean"] == results["test"]["ens_acc_mean"]
    return rows


# ------------------------------------------------------------------------------------------------ the CLI
def test_sweep_fills_results_and_a_rerun_starts_no_run(tmp_path: Path) -> None:
    config = shrunk_ci(tmp_path / "sweep.yaml")
    out = tmp_path / "out"
    res = sweep(str(config), "--out", str(out), "--workers", "2")
    assert res.exit_code == 0, res.output
    rows = check_complete(out, config)
    assert len(rows) == 4
    before_rows, before_files = db_rows(out / "results.sqlite"), mtimes(out / "runs")

    res = sweep(str(config), "--out", str(out), "--workers", "2")
    assert res.exit_code == 0, res.output
    assert db_rows(out / "results.sqlite") == before_rows
    assert mtimes(out / "runs") == before_files


def test_unknown_grid_field_fails_before_anything_starts(tmp_path: Path) -> None:
    config = shrunk_ci(tmp_path / "sweep.yaml", grid={"seed": [0, 1], "optimizer.learning_rat": [0.1]})
    out = tmp_path / "out"
    res = sweep(str(config), "--out", str(out), "--workers", "2")
    assert res.exit_code == 2
    assert "optimizer.learning_rat" in res.output and "unknown" in res.output
    assert not out.exists()


def test_workers_below_one_is_bad_usage(tmp_path: Path) -> None:
    config = shrunk_ci(tmp_path / "sweep.yaml", grid={"seed": [0]})
    res = sweep(str(config), "--out", str(tmp_path / "out"), "--workers", "0")
    assert res.exit_code == 2 and "--workers" in res.output  # it was read as 1
    assert not (tmp_path / "out").exists()


def test_corrupt_database_stops_the_cli_and_is_left_as_is(tmp_path: Path) -> None:
    config = shrunk_ci(tmp_path / "sweep.yaml")
    out = tmp_path / "out"
    out.mkdir()
    garbage = bytes(range(256)) * 20
    (out / "results.sqlite").write_bytes(garbage)
    res = sweep(str(config), "--out", str(out))
    assert res.exit_code == 2  # bad input
    text = res.output.replace("\n", "")  # rich wraps long lines
    assert str(out / "results.sqlite") in text and "not an SQLite database" in text
    assert (out / "results.sqlite").read_bytes() == garbage
    assert sorted(p.name for p in out.iterdir()) == ["results.sqlite"]


def test_database_of_the_same_sweep_with_another_base_names_what_changed(tmp_path: Path) -> None:
    """`coterie sweep CONFIG --out S --set epochs=5` on S made by `coterie sweep CONFIG --out S`: exit 2 and the
    message names the changed field with its old and new value (the two names alone are the same)."""
    config = shrunk_ci(tmp_path / "sweep.yaml")
    out = tmp_path / "out"
    spec = load_sweep(config)
    ResultStore.open(out / DB_NAME, spec.sweep_id, spec.name, spec.base)  # what the first sweep recorded
    before = (out / DB_NAME).read_bytes()
    res = sweep(str(config), "--out", str(out), "--set", "epochs=5", "--set", "batch_size=32")
    assert res.exit_code == 2, res.output
    text = res.output.replace("\n", "")
    assert "belongs to a different sweep" in text
    assert f"): batch_size: {spec.base['batch_size']} → 32; epochs: 2 → 5. Use another --out" in text  # sorted
    assert (out / DB_NAME).read_bytes() == before
    assert not (out / "runs").exists() and not (out / "sweep.yaml").exists()


def test_a_grid_value_spelled_otherwise_than_the_recorded_one_is_refused(tmp_path: Path) -> None:
    """beta -1.0 recorded, the grid now says -1: the same run under another run id (it would train and be recorded
    twice, and the report then mixed the two): exit 2 naming both spellings, nothing written."""
    out = tmp_path / "out"
    first = load_sweep(shrunk_ci(tmp_path / "a.yaml", grid={"objective.params.beta": [-1.0], "seed": [0]}))
    store = ResultStore.open(out / DB_NAME, first.sweep_id, first.name, first.base)
    (run,) = first.expand()
    assert store.claim(run.run_id, run.name, run.overrides, run.config_dict, str(out / "runs" / run.name), "test")
    before = (out / DB_NAME).read_bytes()
    res = sweep(
        str(shrunk_ci(tmp_path / "b.yaml", grid={"objective.params.beta": [-1], "seed": [0]})), "--out", str(out)
    )
    assert res.exit_code == 2, res.output
    text = res.output.replace("\n", "")
    assert '{"objective.params.beta":-1,"seed":0} is {"objective.params.beta":-1.0,"seed":0}' in text
    assert (out / DB_NAME).read_bytes() == before and not (out / "runs").exists()


def test_a_grid_listing_one_value_twice_is_refused(tmp_path: Path) -> None:
    res = sweep(
        str(shrunk_ci(tmp_path / "s.yaml", grid={"objective.params.beta": [0, 0.0]})), "--out", str(tmp_path / "o")
    )
    assert res.exit_code == 2 and "another point of this grid" in res.output.replace("\n", "")
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------------------------ killing
def _wait_for(cond: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes]) -> bool:
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc.poll() is not None:
            return False
        try:
            if cond():
                return True
        except sqlite3.Error:  # the database is not created yet
            pass
        time.sleep(0.02)
    return False


def _in_progress(out: Path) -> dict[str, int]:
    """Run directories with a checkpoint and no result: ``{name: last completed epoch}``."""
    found = {}
    for index in (out / "runs").glob("*/checkpoints/last.json"):
        run = index.parent.parent
        if not (run / "results.json").exists():
            found[run.name] = json.loads(index.read_text())["epoch"]
    return found


def _start(args: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "coterie.cli", "sweep", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: SIGKILL reaches the driver and any pool worker
    )


def test_killed_sweep_loses_no_finished_run_and_the_rerun_completes_the_rest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    epochs = 6
    config = shrunk_ci(tmp_path / "sweep.yaml", grid={"seed": [0, 1, 2]}, epochs=epochs)
    out = tmp_path / "out"
    db = out / "results.sqlite"
    proc = _start([str(config), "--out", str(out), "--workers", "1"])
    try:
        # kill after the first result, preferably while the next run is between checkpoints
        assert _wait_for(lambda: len(finished_rows(db)) >= 1, 120, proc), proc.stderr.read().decode()  # type: ignore[union-attr]
        _wait_for(lambda: bool(_in_progress(out)), 5, proc)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert integrity(db) == "ok"
    kept = finished_rows(db)
    assert 1 <= len(kept) < 3
    partial = _in_progress(out)

    trained: list[int] = []
    real = Trainer._run_epoch

    def counting(self: Trainer, epoch: int, *args: Any, **kw: Any) -> Any:
        trained.append(epoch)
        return real(self, epoch, *args, **kw)

    monkeypatch.setattr(Trainer, "_run_epoch", counting)
    res = sweep(str(config), "--out", str(out), "--workers", "1")
    assert res.exit_code == 0, res.output
    rows = check_complete(out, config)
    # the finished runs were kept as they were, not run again
    assert {k: rows[k] for k in kept} == kept
    # the rest ran now; a run that had a checkpoint continued after it
    todo = 3 - len(kept)
    assert len(trained) == todo * epochs - sum(e + 1 for e in partial.values())
    for r in rows.values():
        lines = (out / r["run_dir"] / "metrics.jsonl").read_text().splitlines()
        assert [json.loads(s)["epoch"] for s in lines] == list(range(epochs))


def _pool_workers(pid: int) -> list[int]:
    """Process-pool workers among the children of ``pid`` (forked or spawned; not multiprocessing's resource
    tracker)."""
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if int(fields[1]) == pid and b"resource_tracker" not in cmd:
            kids.append(int(stat.parent.name))
    return kids


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="finds pool workers through /proc")
def test_killed_pool_worker_loses_no_finished_run(tmp_path: Path) -> None:
    """SIGKILL on one pool worker: the driver records what is unfinished as failed and exits 1; the re-run
    completes it; nothing finished is lost."""
    config = shrunk_ci(tmp_path / "sweep.yaml", grid={"seed": [0, 1, 2, 3]}, epochs=6)
    out = tmp_path / "out"
    db = out / "results.sqlite"
    proc = _start([str(config), "--out", str(out), "--workers", "2"])
    try:
        assert _wait_for(lambda: len(finished_rows(db)) >= 1, 180, proc), proc.stderr.read().decode()  # type: ignore[union-attr]
        workers = _pool_workers(proc.pid)
        assert workers
        os.kill(workers[0], signal.SIGKILL)
        proc.wait(120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode in (0, 1)  # 1: some runs failed with the broken pool
    assert integrity(db) == "ok"
    kept = finished_rows(db)
    res = sweep(str(config), "--out", str(out), "--workers", "2")
    assert res.exit_code == 0, res.output
    rows = check_complete(out, config)
    assert {k: rows[k] for k in kept} == kept


# ------------------------------------------------------------------------------------------------ start methods
def test_start_method_forks_only_when_safe() -> None:
    assert pick_start_method("spawn") == "spawn"
    assert pick_start_method("forkserver") == "forkserver"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert pick_start_method("auto") == "spawn"  # a forked child could inherit a lock that thread holds
    finally:
        stop.set()
        other.join()
    if "fork" in mp.get_all_start_methods() and threading.active_count() == 1 and not torch.cuda.is_initialized():
        assert pick_start_method("auto") == "fork"


@pytest.mark.slow  # spawned workers import torch and coterie again: ~10-20 s on 2 shared cores
def test_spawned_pool_workers(tmp_path: Path) -> None:
    config = shrunk_ci(tmp_path / "sweep.yaml", grid={"seed": [0, 1]})
    outcome = run_sweep(load_sweep(config), tmp_path / "out", workers=2, start_method="spawn")
    assert outcome.finished_now == 2 and not outcome.failed
    check_complete(tmp_path / "out", config)


# ------------------------------------------------------------------------------------------------ Ray
@pytest.mark.slow  # a local Ray instance takes seconds to start and its workers import torch (~30 s here in all)
def test_ray_backend_on_a_local_instance(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    config = shrunk_ci(tmp_path / "sweep.yaml", grid={"seed": [0, 1]})
    out = tmp_path / "out"
    res = sweep(str(config), "--out", str(out), "--backend", "ray", "--workers", "2")
    assert res.exit_code == 0, res.output
    rows = check_complete(out, config)
    assert len(rows) == 2
    before = db_rows(out / "results.sqlite")
    res = sweep(str(config), "--out", str(out), "--backend", "ray", "--workers", "2")
    assert res.exit_code == 0, res.output
    assert db_rows(out / "results.sqlite") == before
