"""``results.sqlite``: the record of a sweep's finished runs.

Tables:

- ``meta(key, value)``: ``format`` (= ``coterie-sweep``), ``schema_version``, ``sweep_id``, ``sweep_name``,
  ``base_config`` (JSON), ``created``.
- ``runs``: one row per run id — ``status`` (``running``, ``finished`` or ``failed``), its overrides, full config,
  seed, flattened final metrics, the results JSON, the run directory (relative to the sweep directory), owner
  (``host:pid`` that claimed it), timestamps and the error of a failed run.

Safety: every write is one short ``BEGIN IMMEDIATE`` transaction in WAL journal mode with a generous busy timeout,
so several processes (workers, or two sweeps started on the same directory) can write concurrently without
corrupting the file; a process killed mid-write leaves the last committed state. A file that is not a coterie
results database, is corrupt, or belongs to a different sweep raises :class:`StoreError` and is never modified
(SQLite may leave its empty ``-wal``/``-shm`` side files next to a WAL-mode file it was asked to read). An SQLite
file with no table at all — a database another sweep is creating at this moment, or one whose creator died before
writing the schema — holds nothing and is completed.
"""

from __future__ import annotations

import json
import os
import random
import socket
import sqlite3
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

FORMAT = "coterie-sweep"
SCHEMA_VERSION = "1"
DB_NAME = "results.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'finished', 'failed')),
    overrides TEXT NOT NULL,
    config TEXT NOT NULL,
    seed INTEGER,
    metrics TEXT,
    results TEXT,
    run_dir TEXT NOT NULL,
    owner TEXT,
    claimed_at REAL,
    finished_at REAL,
    wall_seconds REAL,
    error TEXT
);
"""


def _identity(run_id: str, name: str, overrides: Mapping[str, Any], config: Mapping[str, Any]) -> tuple[Any, ...]:
    """A run's identity columns ``(run_id, name, overrides, config, seed)`` as stored (JSON with sorted keys)."""
    return run_id, name, json.dumps(overrides, sort_keys=True), json.dumps(config, sort_keys=True), config.get("seed")


class StoreError(RuntimeError):
    """``results.sqlite`` is corrupt, not a coterie sweep database, or belongs to another sweep."""


def owner_tag() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_alive(owner: str | None, stale_after: float, claimed_at: float | None) -> bool:
    """Whether a ``running`` claim still holds: a live local pid, or a remote claim younger than ``stale_after``."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host == socket.gethostname():
        return pid.isdigit() and _pid_alive(int(pid))
    return claimed_at is not None and time.time() - claimed_at < stale_after


def flatten_metrics(results: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves of a results mapping as ``{"test.ens_acc_mean": 0.71, "test.member_acc.0": 0.6, ...}``."""
    out: dict[str, float] = {}
    for k, v in results.items():
        key = f"{prefix}{k}"
        if isinstance(v, (bool, int, float)):
            out[key] = float(v)
        elif isinstance(v, Mapping):
            out.update(flatten_metrics(v, key + "."))
        elif isinstance(v, (list, tuple)) and v and all(isinstance(x, (int, float)) for x in v) and len(v) <= 64:
            for i, x in enumerate(v):
                out[f"{key}.{i}"] = float(x)
    return out


def sweep_changes(meta: Mapping[str, str], sweep_name: str | None, base_config: Mapping[str, Any] | None) -> str:
    """What makes this sweep another one than the database's, as ``field: old → new; ...``: the sweep's name and the
    fields of its base configuration that differ (``device`` aside: the sweep id leaves it out, as
    :attr:`coterie.sweep.grid.SweepSpec.sweep_id` does); ``""`` when that cannot be told (no readable recorded base)."""
    from coterie.experiments.fingerprint import config_diff, describe_diff

    try:
        old = json.loads(meta["base_config"])
        new = json.loads(json.dumps(base_config, sort_keys=True))  # the form the database keeps
    except (KeyError, TypeError, ValueError):
        return ""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ""
    differences = config_diff(
        {k: v for k, v in old.items() if k != "device"}, {k: v for k, v in new.items() if k != "device"}
    )
    if meta.get("sweep_name") != sweep_name:
        differences.insert(0, ("sweep.name", meta.get("sweep_name"), sweep_name))
    return describe_diff(differences)


class ResultStore:
    """The sweep database at ``path``. Open with :meth:`open`, which checks format and sweep identity."""

    def __init__(self, path: Path, timeout: float = 120.0) -> None:
        self.path = Path(path)
        self.timeout = timeout

    # ------------------------------------------------------------------ connection
    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(str(self.path), timeout=self.timeout, isolation_level=None)
        try:
            con.execute(f"PRAGMA busy_timeout = {int(self.timeout * 1000)}")
            yield con
        finally:
            con.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise

    # ------------------------------------------------------------------ open / check
    @classmethod
    def open(cls, path: str | Path, sweep_id: str, sweep_name: str, base_config: Mapping[str, Any]) -> ResultStore:
        """Open (creating if absent) the database for the sweep ``sweep_id``.

        Raises:
            StoreError: the file is not an SQLite database, is corrupt, is not a coterie sweep database, or records
                another sweep (the message names each differing field, from the recorded ``base_config``). The file
                is left untouched.
        """
        store = cls(Path(path))
        existed = store.path.exists() and store.path.stat().st_size > 0
        # A blank database (SQLite wrote its header, no table yet) is one another sweep is creating right now, or one
        # whose creator died before the schema: it holds nothing, so it is completed rather than refused.
        if existed and not store._blank():
            store._check(sweep_id, sweep_name, base_config)
            return store
        store.path.parent.mkdir(parents=True, exist_ok=True)
        store._enable_wal()
        with store._write() as con:
            for stmt in _SCHEMA.strip().split(";"):
                if stmt.strip():
                    con.execute(stmt)
            rows = {
                "format": FORMAT,
                "schema_version": SCHEMA_VERSION,
                "sweep_id": sweep_id,
                "sweep_name": sweep_name,
                "base_config": json.dumps(base_config, sort_keys=True),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            # INSERT OR IGNORE: a concurrent creator may have written the same meta first.
            con.executemany("INSERT OR IGNORE INTO meta(key, value) VALUES (?, ?)", list(rows.items()))
        store._check(sweep_id, sweep_name, base_config)
        return store

    def _enable_wal(self) -> None:
        """Switch the file to WAL journal mode. SQLite answers "database is locked" at once, without waiting for
        its busy timeout, when several connections switch the mode together (sweeps creating one database at the same
        moment), so this retries until the store's timeout."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with self._connect() as con:
                    con.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as e:
                if "locked" not in str(e) or time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0.005, 0.05))

    def _blank(self) -> bool:
        """Whether the file is an SQLite database without any schema object (read-only look; errors mean no)."""
        with open(self.path, "rb") as f:
            if f.read(16) != b"SQLite format 3\x00":
                return False
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=self.timeout)
            try:
                return con.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0
            finally:
                con.close()
        except sqlite3.DatabaseError:
            return False

    def _check(self, sweep_id: str | None, sweep_name: str | None, base_config: Mapping[str, Any] | None) -> None:
        meta = self.read_meta()
        if sweep_id is not None and meta.get("sweep_id") != sweep_id:
            changes = sweep_changes(meta, sweep_name, base_config)
            what = f": {changes}" if changes else ""
            raise StoreError(
                f"{self.path} belongs to a different sweep ({meta.get('sweep_name')!r}, id {meta.get('sweep_id')}); "
                f"this sweep is {sweep_name!r} (id {sweep_id}){what}. Use another --out directory; the file is left "
                "as is."
            )

    def read_meta(self) -> dict[str, str]:
        """The ``meta`` table; raises :class:`StoreError` for anything that is not a valid coterie sweep DB."""
        if not self.path.exists():
            raise StoreError(f"{self.path} does not exist")
        with open(self.path, "rb") as f:
            head = f.read(16)
        if head and head != b"SQLite format 3\x00":
            raise StoreError(f"{self.path} is not an SQLite database (corrupt or foreign file); it is left as is")
        try:
            uri = f"file:{self.path}?mode=ro"
            con = sqlite3.connect(uri, uri=True, timeout=self.timeout)
            try:
                ok = con.execute("PRAGMA quick_check").fetchone()
                if not ok or ok[0] != "ok":
                    raise StoreError(f"{self.path} is corrupt (integrity check: {ok}); it is left as is")
                tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if not {"meta", "runs"} <= tables:
                    raise StoreError(
                        f"{self.path} is an SQLite database but not a coterie sweep database (tables: "
                        f"{sorted(tables)}); it is left as is"
                    )
                meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
            finally:
                con.close()
        except sqlite3.DatabaseError as e:
            msg = f"{self.path} is corrupt or not a coterie sweep database ({e}); it is left as is"
            raise StoreError(msg) from None
        if meta.get("format") != FORMAT:
            raise StoreError(f"{self.path} is not a coterie sweep database (format {meta.get('format')!r})")
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise StoreError(f"{self.path} has schema version {meta.get('schema_version')}, expected {SCHEMA_VERSION}")
        return meta

    # ------------------------------------------------------------------ runs
    def status(self) -> dict[str, dict[str, Any]]:
        """``{run_id: {status, owner, claimed_at}}`` for every recorded run."""
        with self._connect() as con:
            rows = con.execute("SELECT run_id, status, owner, claimed_at FROM runs").fetchall()
        return {r[0]: {"status": r[1], "owner": r[2], "claimed_at": r[3]} for r in rows}

    def recorded_overrides(self) -> dict[str, dict[str, Any]]:
        """``{run_id: grid overrides}`` for every recorded run (any status)."""
        with self._connect() as con:
            rows = con.execute("SELECT run_id, overrides FROM runs").fetchall()
        return {r[0]: json.loads(r[1]) for r in rows if r[1]}

    def claim(
        self,
        run_id: str,
        name: str,
        overrides: Mapping[str, Any],
        config: Mapping[str, Any],
        run_dir: str,
        owner: str,
        stale_after: float = 86_400.0,
    ) -> bool:
        """Mark a run ``running`` for ``owner`` unless it is finished or held by a live owner; returns success."""
        with self._write() as con:
            row = con.execute("SELECT status, owner, claimed_at FROM runs WHERE run_id=?", (run_id,)).fetchone()
            if row is not None:
                status, who, at = row
                if status == "finished":
                    return False
                if status == "running" and who != owner and owner_alive(who, stale_after, at):
                    return False
            con.execute(
                "INSERT OR REPLACE INTO runs(run_id, name, status, overrides, config, seed, run_dir, owner, claimed_at)"
                " VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                (
                    *_identity(run_id, name, overrides, config),
                    run_dir,
                    owner,
                    time.time(),
                ),
            )
        return True

    def record_finished(
        self,
        run_id: str,
        name: str,
        overrides: Mapping[str, Any],
        config: Mapping[str, Any],
        run_dir: str,
        results: Mapping[str, Any],
    ) -> None:
        """Record a finished run (idempotent: recording the same run twice keeps one row)."""
        metrics = flatten_metrics(results)
        with self._write() as con:
            con.execute(
                "INSERT OR REPLACE INTO runs(run_id, name, status, overrides, config, seed, metrics, results, run_dir,"
                " owner, claimed_at, finished_at, wall_seconds, error) VALUES (?, ?, 'finished', ?, ?, ?, ?, ?, ?, ?,"
                " NULL, ?, ?, NULL)",
                (
                    *_identity(run_id, name, overrides, config),
                    json.dumps(metrics, sort_keys=True),
                    json.dumps(results, sort_keys=True),
                    run_dir,
                    owner_tag(),
                    time.time(),
                    results.get("wall_seconds"),
                ),
            )

    def record_failed(self, run_id: str, error: str) -> None:
        """Mark a claimed run ``failed`` with its error message (a later sweep retries it)."""
        with self._write() as con:
            con.execute(
                "UPDATE runs SET status='failed', error=?, owner=NULL WHERE run_id=? AND status!='finished'",
                (error[-4000:], run_id),
            )

    def release(self, run_id: str, owner: str) -> None:
        """Drop this owner's ``running`` claim (an interrupted run; its checkpoints stay for resume)."""
        with self._write() as con:
            con.execute("DELETE FROM runs WHERE run_id=? AND status='running' AND owner=?", (run_id, owner))

    def finished(self) -> list[dict[str, Any]]:
        """Every finished run: ``run_id, name, overrides, config, seed, metrics, results, run_dir, wall_seconds``."""
        with self._connect() as con:
            rows = con.execute(
                "SELECT run_id, name, overrides, config, seed, metrics, results, run_dir, wall_seconds FROM runs "
                "WHERE status='finished' ORDER BY name"
            ).fetchall()
        return [
            {
                "run_id": r[0],
                "name": r[1],
                "overrides": json.loads(r[2]),
                "config": json.loads(r[3]),
                "seed": r[4],
                "metrics": json.loads(r[5] or "{}"),
                "results": json.loads(r[6] or "{}"),
                "run_dir": r[7],
                "wall_seconds": r[8],
            }
            for r in rows
        ]

    def counts(self) -> dict[str, int]:
        """Number of runs per status."""
        with self._connect() as con:
            return dict(con.execute("SELECT status, COUNT(*) FROM runs GROUP BY status").fetchall())
