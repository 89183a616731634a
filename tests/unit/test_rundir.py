"""Atomic writes: whole content, no temporary left behind, the permissions a plain open() would give."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from coterie.utils.io import atomic_write_bytes, atomic_write_text


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_write_matches_plain_open(tmp_path: Path, umask: int) -> None:
    old = os.umask(umask)
    try:
        plain = tmp_path / "plain.txt"
        plain.write_text("x")
        target = tmp_path / "sub" / "report.html"
        atomic_write_text(target, "<html>é</html>")
    finally:
        os.umask(old)
    assert target.read_text() == "<html>é</html>"
    assert stat.S_IMODE(target.stat().st_mode) == stat.S_IMODE(plain.stat().st_mode)
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.html"]


def test_atomic_write_replaces_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "results.json"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_keyed_records_are_logged_once_even_across_objects_and_truncation(tmp_path: Path) -> None:
    from coterie.utils.rundir import RunDir

    a = RunDir(tmp_path)
    a.log_metrics({"stage": "pair", "variant": "avg", "acc": 0.5}, key=("stage", "variant"))
    a.log_metrics({"stage": "pair", "variant": "avg", "acc": 0.5, "seconds": 9.0}, key=("stage", "variant"))  # redone
    a.log_metrics({"epoch": 0, "loss": 1.0})  # unkeyed records are always written
    a.log_metrics({"epoch": 0, "loss": 1.0})
    a.log_metrics({"other": 1}, key=("stage", "variant"))  # lacks the key fields: written
    assert [r.get("variant") for r in a.read_metrics()] == ["avg", None, None, None]
    b = RunDir(tmp_path)  # a resumed process: reads what is recorded
    b.log_metrics({"stage": "pair", "variant": "avg", "acc": 0.5}, key=("stage", "variant"))
    assert len(b.read_metrics()) == 4
    b.truncate_metrics(lambda r: "variant" not in r)  # another object truncates: a's cache must see it
    a.log_metrics({"stage": "pair", "variant": "avg", "acc": 0.5}, key=("stage", "variant"))
    assert [r.get("variant") for r in a.read_metrics()] == [None, None, None, "avg"]
