"""``results.sqlite``: finished runs are recorded and never run again, unfinished runs resume from their checkpoints,
a corrupt or foreign database is refused and left byte-for-byte as it was, concurrent writers do not corrupt it.

The checks read the database with plain ``sqlite3`` and the run directories from disk, not through the store's API.
"""

from __future__ import annotations

import copy
import json
import multiprocessing as mp
import random
import shutil
import socket
import sqlite3
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

import coterie.sweep.backends as backends
import coterie.training.checkpoint as ckpt
from coterie.experiments.fingerprint import numeric_config
from coterie.sweep import DB_NAME, ResultStore, StoreError, SweepSpec, parse_sweep, run_sweep
from coterie.training.trainer import Trainer

BASE: dict[str, Any] = {
    "experiment": "colearn",
    "name": "store-test",
    "data": {"name": "mnist1d", "num_samples": 200, "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"name": "mlp", "kwargs": {"hidden": [16]}},
    "ensemble": {"size": 2},
    "objective": {"name": "colearning", "params": {"beta": 0.5, "normalize": True}},
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "schedule": {"name": "cosine"},
    "epochs": 2,
    "batch_size": 32,
    "analysis": {"trajectory_every": 1, "trajectory_samples": 16, "activity_samples": 16},
}


def sweep(grid: dict[str, list[Any]], name: str = "store-test", **base: Any) -> SweepSpec:
    raw = copy.deepcopy(BASE)
    raw.update(base)
    return parse_sweep({**raw, "sweep": {"name": name, "grid": grid}})


def rows(db: Path) -> dict[str, dict[str, Any]]:
    """Every row of the ``runs`` table, read with plain sqlite3."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        con.row_factory = sqlite3.Row
        return {r["run_id"]: dict(r) for r in con.execute("SELECT * FROM runs")}
    finally:
        con.close()


def integrity(db: Path) -> str:
    con = sqlite3.connect(str(db))
    try:
        return str(con.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        con.close()


def mtimes(root: Path) -> dict[str, int]:
    """Modification times of the files under ``root`` (SQLite's own -wal/-shm side files aside)."""
    return {
        str(p.relative_to(root)): p.stat().st_mtime_ns
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.endswith(("-wal", "-shm"))
    }


def no_seconds(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if "seconds" not in k}


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished two-run sweep (seeds 0 and 1); tests that change it work on a copy."""
    out = tmp_path_factory.mktemp("finished") / "sweep"
    outcome = run_sweep(sweep({"seed": [0, 1]}), out, workers=1)
    assert outcome.total == 2 and outcome.finished_now == 2 and not outcome.failed
    return out


@pytest.fixture
def copy_of(finished: Path, tmp_path: Path) -> Path:
    out = tmp_path / "sweep"
    shutil.copytree(finished, out)
    return out


@pytest.fixture
def count_executions(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Run directories handed to ``execute_run`` in this process (``workers=1`` runs in process)."""
    calls: list[str] = []
    real = backends.execute_run

    def counting(**kw: Any) -> dict[str, Any]:
        calls.append(kw["run_dir"])
        return real(**kw)

    monkeypatch.setattr(backends, "execute_run", counting)
    return calls


@pytest.fixture
def count_epochs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Epochs the Trainer actually trains in this process."""
    epochs: list[int] = []
    real = Trainer._run_epoch

    def counting(self: Trainer, epoch: int, *args: Any, **kw: Any) -> Any:
        epochs.append(epoch)
        return real(self, epoch, *args, **kw)

    monkeypatch.setattr(Trainer, "_run_epoch", counting)
    return epochs


# ------------------------------------------------------------------------------------------------ recording
def test_finished_run_is_recorded(finished: Path) -> None:
    recorded = rows(finished / DB_NAME)
    assert len(recorded) == 2
    assert sorted(r["seed"] for r in recorded.values()) == [0, 1]
    for r in recorded.values():
        assert r["status"] == "finished" and r["error"] is None
        run_dir = finished / r["run_dir"]
        assert run_dir.is_dir() and r["run_dir"].startswith("runs/")
        # the full configuration as given (config.yaml also records the model arguments inferred from the data),
        # as the run directory's fingerprint has it
        config = json.loads(r["config"])
        assert numeric_config(config) == json.loads((run_dir / "fingerprint.json").read_text())["config"]
        assert config["name"] == yaml.safe_load((run_dir / "config.yaml").read_text())["name"]
        assert json.loads(r["overrides"]) == {"seed": r["seed"]}
        # final metrics: the ensemble accuracy recomputed from the saved test logits (mean of member probabilities)
        metrics = json.loads(r["metrics"])
        pred = np.load(run_dir / "predictions.npz")
        probs = torch.softmax(torch.from_numpy(pred["test_logits"]), -1).mean(0)
        acc = (probs.argmax(-1) == torch.from_numpy(pred["test_y"])).float().mean().item()
        assert metrics["test.ens_acc_mean"] == pytest.approx(acc, abs=1e-6)
        assert json.loads(r["results"]) == json.loads((run_dir / "results.json").read_text())
    assert integrity(finished / DB_NAME) == "ok"


@pytest.mark.parametrize("workers", [1, 2])
def test_rerun_starts_no_run(copy_of: Path, count_executions: list[str], workers: int) -> None:
    before_files, before_rows = mtimes(copy_of / "runs"), rows(copy_of / DB_NAME)
    outcome = run_sweep(sweep({"seed": [0, 1]}), copy_of, workers=workers)
    assert outcome.total == 2 and outcome.skipped == 2 and outcome.started == [] and not outcome.busy
    assert count_executions == []
    assert mtimes(copy_of / "runs") == before_files  # no run directory touched
    assert rows(copy_of / DB_NAME) == before_rows  # no row rewritten (finished_at unchanged)


def test_result_on_disk_missing_from_db_is_recorded_without_training(copy_of: Path, count_epochs: list[int]) -> None:
    """A sweep killed between a run's ``results.json`` and its database row: the re-run records it, trains nothing."""
    before = rows(copy_of / DB_NAME)
    lost = next(iter(before))
    con = sqlite3.connect(str(copy_of / DB_NAME))
    with con:
        con.execute("DELETE FROM runs WHERE run_id=?", (lost,))
    con.close()
    outcome = run_sweep(sweep({"seed": [0, 1]}), copy_of, workers=1)
    assert outcome.skipped == 1 and len(outcome.started) == 1
    assert count_epochs == []
    after = rows(copy_of / DB_NAME)
    assert json.loads(after[lost]["metrics"]) == json.loads(before[lost]["metrics"])


# ------------------------------------------------------------------------------------------------ resume
class Killed(BaseException):
    """Stands for the process dying: not an ``Exception``, so no handler turns it into a failed run."""


def test_unfinished_run_resumes_from_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, count_epochs: list[int]
) -> None:
    spec = sweep({"seed": [3]}, epochs=3)
    # an uninterrupted reference
    ref = tmp_path / "ref"
    run_sweep(spec, ref, workers=1)
    assert count_epochs == [0, 1, 2]
    count_epochs.clear()

    # killed right after the checkpoint of epoch 0 was written
    real_save = ckpt.save_checkpoint

    def save_then_die(directory: Path, epoch: int, *args: Any, **kw: Any) -> Path:
        real_save(directory, epoch, *args, **kw)
        raise Killed

    monkeypatch.setattr(ckpt, "save_checkpoint", save_then_die)
    out = tmp_path / "sweep"
    with pytest.raises(Killed):
        run_sweep(spec, out, workers=1)
    monkeypatch.setattr(ckpt, "save_checkpoint", real_save)
    (run_dir,) = (out / "runs").iterdir()
    assert json.loads((run_dir / "checkpoints" / "last.json").read_text())["epoch"] == 0
    assert not (run_dir / "results.json").exists()
    assert [r["status"] for r in rows(out / DB_NAME).values()] == []  # not finished; its claim released
    count_epochs.clear()

    outcome = run_sweep(spec, out, workers=1)
    assert outcome.finished_now == 1
    assert count_epochs == [1, 2]  # epoch 0 came from the checkpoint
    (got,) = rows(out / DB_NAME).values()
    (want,) = rows(ref / DB_NAME).values()
    assert got["status"] == "finished"
    assert no_seconds(json.loads(got["metrics"])) == no_seconds(json.loads(want["metrics"]))
    lines = [no_seconds(json.loads(s)) for s in (run_dir / "metrics.jsonl").read_text().splitlines()]
    ref_dir = ref / want["run_dir"]
    assert lines == [no_seconds(json.loads(s)) for s in (ref_dir / "metrics.jsonl").read_text().splitlines()]


def _dead_pid() -> int:
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_claims_of_dead_and_live_sweeps(finished: Path, tmp_path: Path, count_executions: list[str]) -> None:
    """A run claimed by a sweep that died is taken over; one claimed by a live sweep is left to it."""
    spec = sweep({"seed": [5, 6]})
    out = tmp_path / "sweep"
    store = ResultStore.open(out / DB_NAME, spec.sweep_id, spec.name, spec.base)
    runs = spec.expand()
    host = socket.gethostname()
    with subprocess.Popen(["sleep", "60"]) as live:
        try:
            for r, pid in zip(runs, (_dead_pid(), live.pid)):
                assert store.claim(r.run_id, r.name, r.overrides, r.config_dict, f"runs/{r.name}", f"{host}:{pid}")
            outcome = run_sweep(spec, out, workers=1)
        finally:
            live.kill()
    assert outcome.busy == [runs[1].name]
    assert outcome.started == [runs[0].name] and not outcome.failed
    status = {k: v["status"] for k, v in rows(out / DB_NAME).items()}
    assert status == {runs[0].run_id: "finished", runs[1].run_id: "running"}


# ------------------------------------------------------------------------------------------------ refused files
def _random_bytes(n: int) -> bytes:
    return random.Random(0).randbytes(n)


def _damaged(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100:] = _random_bytes(len(data) - 100)  # keeps the 100-byte header, destroys every page
    path.write_bytes(bytes(data))


def _foreign(path: Path) -> None:
    con = sqlite3.connect(str(path))
    with con:
        con.execute("CREATE TABLE songs (title TEXT)")
        con.execute("INSERT INTO songs VALUES ('la')")
    con.close()


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2 + 7])


CORRUPTIONS: dict[str, Callable[[Path], None]] = {
    "random bytes": lambda p: p.write_bytes(_random_bytes(8192)),
    "text": lambda p: p.write_bytes(b"results: none\n" * 300),
    "sqlite header then garbage": lambda p: p.write_bytes(b"SQLite format 3\x00" + _random_bytes(8176)),
    "damaged pages": _damaged,
    "truncated": _truncated,
    "another program's database": _foreign,
}


@pytest.mark.parametrize("kind", list(CORRUPTIONS))
def test_corrupt_database_is_refused_and_left_as_is(
    finished: Path, tmp_path: Path, kind: str, count_executions: list[str]
) -> None:
    out = tmp_path / "sweep"
    out.mkdir()
    db = out / DB_NAME
    if kind in ("damaged pages", "truncated"):
        shutil.copy(finished / DB_NAME, db)
    CORRUPTIONS[kind](db)
    before = db.read_bytes()
    with pytest.raises(StoreError) as err:
        run_sweep(sweep({"seed": [0, 1]}), out, workers=1)
    msg = str(err.value)
    assert str(db) in msg and "left as is" in msg
    assert any(w in msg for w in ("corrupt", "not an SQLite", "not a coterie"))
    assert db.read_bytes() == before
    assert not (out / "runs").exists() and not (out / "sweep.yaml").exists()
    # SQLite may leave its empty side files next to a WAL-mode file it could not read; nothing is written in them
    assert {p.name for p in out.iterdir()} <= {DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"}
    wal = out / f"{DB_NAME}-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert count_executions == []


@pytest.mark.parametrize(
    ("other", "changes"),
    [
        # the message names each differing field with its recorded and its new value (device aside), and only those
        ({"name": "another-sweep"}, 'sweep.name: "store-test" → "another-sweep"'),  # another sweep's name
        ({"epochs": 3}, "epochs: 2 → 3"),  # another base configuration
        (
            {"objective": {"name": "colearning", "params": {"beta": -1.0, "normalize": True}}},
            "objective.params.beta: 0.5 → -1.0",
        ),
        ({"model": {"name": "mlp", "kwargs": {"hidden": [32]}}, "device": "cpu"}, "model.kwargs.hidden: [16] → [32]"),
        (
            {"batch_size": 64, "name": "another-sweep"},
            'sweep.name: "store-test" → "another-sweep"; batch_size: 32 → 64',
        ),
    ],
    ids=["name", "epochs", "beta", "hidden-not-device", "name-and-batch-size"],
)
def test_database_of_another_sweep_is_refused_and_left_as_is(
    copy_of: Path, other: dict[str, Any], changes: str, count_executions: list[str]
) -> None:
    db = copy_of / DB_NAME
    before, before_files = db.read_bytes(), mtimes(copy_of)
    name = other.pop("name", "store-test")
    with pytest.raises(StoreError, match="different sweep") as err:
        run_sweep(sweep({"seed": [0, 1]}, name=name, **other), copy_of, workers=1)
    assert "store-test" in str(err.value)
    assert f"): {changes}. Use another --out" in str(err.value)
    assert db.read_bytes() == before
    assert mtimes(copy_of) == before_files
    wal = copy_of / f"{DB_NAME}-wal"
    assert not wal.exists() or wal.stat().st_size == 0
    assert count_executions == []


def test_another_sweep_without_a_recorded_base_is_refused_by_its_ids(copy_of: Path) -> None:
    """A database whose meta has no readable ``base_config`` cannot say which fields differ: the message names the
    two sweeps and their ids, and the file is still left as is."""
    db = copy_of / DB_NAME
    con = sqlite3.connect(str(db))
    try:
        con.execute("UPDATE meta SET value='not json' WHERE key='base_config'")
        con.commit()
    finally:
        con.close()
    before = db.read_bytes()
    spec = sweep({"seed": [0, 1]}, epochs=3)
    with pytest.raises(StoreError, match="different sweep") as err:
        run_sweep(spec, copy_of, workers=1)
    assert f"this sweep is 'store-test' (id {spec.sweep_id}). Use another --out" in str(err.value)
    assert "epochs" not in str(err.value)
    assert db.read_bytes() == before


def test_a_grown_grid_is_the_same_sweep(copy_of: Path, count_executions: list[str]) -> None:
    """The sweep's identity is its name and base configuration; adding grid values (more seeds) extends it."""
    outcome = run_sweep(sweep({"seed": [0, 1, 2]}), copy_of, workers=1)
    assert outcome.skipped == 2 and len(outcome.started) == 1 and len(count_executions) == 1
    assert sorted(r["seed"] for r in rows(copy_of / DB_NAME).values()) == [0, 1, 2]


# ------------------------------------------------------------------------------------------------ concurrency
def _context() -> mp.context.BaseContext:
    # fork: the children only use sqlite3; spawn would re-import torch in each (seconds)
    return mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")


def _writer(db: str, who: int, n_own: int, n_shared: int, barrier: Any) -> None:
    store = ResultStore(Path(db))
    barrier.wait()
    cfg = {"seed": who, "epochs": 1}
    for i in range(n_own):
        rid = f"w{who}-{i:04d}"
        assert store.claim(rid, rid, {"i": i}, cfg, f"runs/{rid}", owner=f"writer{who}")
        store.record_finished(rid, rid, {"i": i}, cfg, f"runs/{rid}", {"test": {"acc": i / n_own}, "who": who})
        if i < n_shared:  # both writers record the same runs too (as a worker and its driver do)
            sid = f"shared-{i:04d}"
            store.record_finished(sid, sid, {"i": i}, cfg, f"runs/{sid}", {"test": {"acc": 0.5}})
        time.sleep(0.01)  # SQLite lets a writer that keeps the lock busy starve the other; let them interleave


def _opener(db: str, barrier: Any, errors: Any) -> None:
    barrier.wait()
    try:
        ResultStore.open(Path(db), "sweep-id", "race", {"a": 1})
    except Exception as e:
        errors.put(repr(e))


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_two_writers_at_once_do_not_corrupt_the_database(tmp_path: Path) -> None:
    db = tmp_path / DB_NAME
    ResultStore.open(db, "sweep-id", "concurrent", {"a": 1})
    ctx = _context()
    n_own, n_shared = 50, 20
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_writer, args=(str(db), w, n_own, n_shared, barrier)) for w in (0, 1)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    assert integrity(db) == "ok"
    got = rows(db)
    assert len(got) == 2 * n_own + n_shared
    assert {r["status"] for r in got.values()} == {"finished"}
    for w in (0, 1):
        for i in range(n_own):
            r = got[f"w{w}-{i:04d}"]
            assert json.loads(r["metrics"]) == {"test.acc": i / n_own, "who": float(w)}
    # the two really wrote at the same time: their spans of commits overlap
    spans = [[got[f"w{w}-{i:04d}"]["finished_at"] for i in range(n_own)] for w in (0, 1)]
    assert max(min(s) for s in spans) < min(max(s) for s in spans)
    # and the sweep that owns it still opens it
    ResultStore.open(db, "sweep-id", "concurrent", {"a": 1})


@pytest.mark.filterwarnings("ignore:.*fork.*:DeprecationWarning")
def test_sweeps_creating_one_database_at_once(tmp_path: Path) -> None:
    """Several sweeps started together on a fresh directory: every one opens the database, one meta record."""
    ctx = _context()
    errors = ctx.Queue()
    for trial in range(6):
        db = tmp_path / f"{trial}" / DB_NAME
        barrier = ctx.Barrier(4)
        procs = [ctx.Process(target=_opener, args=(str(db), barrier, errors)) for _ in range(4)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0] * 4
        assert integrity(db) == "ok"
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert found == []


def test_blank_database_left_by_an_interrupted_creator_is_completed(tmp_path: Path) -> None:
    """A creator stopped after SQLite wrote the file header but before the tables: the file holds nothing, so the
    next sweep completes it instead of refusing it."""
    db = tmp_path / DB_NAME
    con = sqlite3.connect(str(db))
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    assert db.stat().st_size > 0
    store = ResultStore.open(db, "sweep-id", "blank", {"a": 1})
    assert store.read_meta()["sweep_id"] == "sweep-id"
