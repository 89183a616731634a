"""The run-directory guard: a fingerprint of the configuration that produced a run directory's numbers.

``RUN_DIR/fingerprint.json`` holds ``{"version": 1, "fingerprint": sha256 hex, "config": {...}, "excluded": [...]}``:
the validated configuration as the user gave it (after command-line overrides, *before* any model argument is
inferred from the data), less :data:`NON_NUMERIC_FIELDS`, and the SHA-256 of its canonical JSON. A run directory is
resumed (or left alone when finished) only for a configuration with the same fingerprint; any other configuration
raises :class:`RunDirMismatch` before anything is written, naming each differing field with its old and new value.

Only ``fingerprint.json`` is compared, never ``config.yaml`` (which records the effective config and, once the
ensemble is built, every inferred model argument). A directory made before fingerprints existed (``config.yaml``
but no ``fingerprint.json``) is compared against its ``config.yaml``, less the same fields.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from coterie.utils.errors import InputError
from coterie.utils.io import atomic_write_text

FINGERPRINT_FILE = "fingerprint.json"
FINGERPRINT_VERSION = 1
PREVIOUS_PREFIX = ".previous-"

#: Dotted config fields that never change a run's numbers, so the fingerprint leaves them out (a field absent from
#: an experiment's schema is simply not there to remove). Why each:
#:
#: - ``name``: a label; ``device``: where it runs (a run may resume on another device; CPU and CUDA kernels may
#:   differ in the last bits, which the guard accepts);
#: - ``checkpoint_every``: how often training state is saved, not what it is; ``log``: logging outputs
#:   (TensorBoard and the like);
#: - ``data.data_dir``: *where* a standard dataset (CIFAR's batches) lies on this machine, not which data it is — the
#:   dataset is named by ``data.name``, and moving the files must not orphan the run. (``data_file``, a user's own
#:   data file, names the data itself and stays in the fingerprint.)
#: - ``search.workers``, ``search.backend``, ``search.address`` (Co-DeepNet's genetic search): how many processes
#:   evaluate the population and where; every individual is seeded on its own, so the numbers do not depend on them.
NON_NUMERIC_FIELDS: tuple[str, ...] = (
    "name",
    "device",
    "checkpoint_every",
    "log",
    "data.data_dir",
    "search.workers",
    "search.backend",
    "search.address",
)

_ABSENT = "(absent)"


class RunDirError(InputError):
    """A run directory that cannot be used for this run (bad input: the CLI exits 2, nothing is written)."""


class RunDirMismatch(RunDirError):  # noqa: N818 - the name says what it is, as the issue asked
    """The run directory holds a run of a different configuration; ``differences`` lists ``(field, old, new)``."""

    def __init__(self, path: Path, differences: list[tuple[str, Any, Any]]) -> None:
        self.path = path
        self.differences = differences
        super().__init__(
            f"{path} holds a run of a different configuration ({self.summary}); nothing was changed. "
            f"Use another --out, or --restart to move the old run to {path}/{PREVIOUS_PREFIX}<time>/ and start afresh"
        )

    @property
    def summary(self) -> str:
        """``field: old → new; ...`` (the first 12 differences)."""
        return describe_diff(self.differences)


def describe_diff(differences: list[tuple[str, Any, Any]], limit: int = 12) -> str:
    """:func:`config_diff`'s ``(field, old, new)`` list as ``field: old → new; ...`` (values as JSON; the first
    ``limit``, then how many more)."""
    shown = "; ".join(f"{k}: {_show(old)} → {_show(new)}" for k, old, new in differences[:limit])
    return shown + (f"; and {len(differences) - limit} more" if len(differences) > limit else "")


def _show(v: Any) -> str:
    return v if v is _ABSENT else json.dumps(v, sort_keys=True)


def numeric_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a config mapping without :data:`NON_NUMERIC_FIELDS`."""
    out = copy.deepcopy(dict(config))
    for dotted in NON_NUMERIC_FIELDS:
        *parents, leaf = dotted.split(".")
        cur: Any = out
        for k in parents:
            cur = cur.get(k) if isinstance(cur, dict) else None
        if isinstance(cur, dict):
            cur.pop(leaf, None)
    return out


def fingerprint(config: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON (sorted keys, no spaces) of :func:`numeric_config` of ``config``."""
    text = json.dumps(numeric_config(config), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_diff(old: Any, new: Any, prefix: str = "") -> list[tuple[str, Any, Any]]:
    """Leaves that differ between two config mappings as ``(dotted field, old, new)``; a missing side is
    ``"(absent)"``. Lists are compared whole. Leaves are compared as the fingerprint hashes them (their JSON), so
    every refusal names its field: ``0`` and ``0.0``, or ``1`` and ``true``, differ here as they do in the hash."""
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        out: list[tuple[str, Any, Any]] = []
        for k in list(old) + [k for k in new if k not in old]:
            key = f"{prefix}{k}"
            if k not in new:
                out.append((key, old[k], _ABSENT))
            elif k not in old:
                out.append((key, _ABSENT, new[k]))
            else:
                out.extend(config_diff(old[k], new[k], key + "."))
        return out
    same = json.dumps(old, sort_keys=True) == json.dumps(new, sort_keys=True)
    return [] if same else [(prefix.rstrip(".") or "(config)", old, new)]


def read_recorded(path: Path) -> dict[str, Any] | None:
    """The fingerprinted config recorded in run directory ``path``: ``fingerprint.json``'s, else (a run made before
    fingerprints) ``config.yaml``'s less :data:`NON_NUMERIC_FIELDS`; ``None`` for a directory with neither.

    Raises:
        RunDirError: either file is unreadable.
    """
    fp, cy = path / FINGERPRINT_FILE, path / "config.yaml"
    try:
        if fp.exists():
            rec = json.loads(fp.read_text())
            if not isinstance(rec, dict) or not isinstance(rec.get("config"), dict):
                raise ValueError("no 'config' mapping")
            return rec["config"]
        if cy.exists():
            raw = yaml.safe_load(cy.read_text())
            if not isinstance(raw, dict):
                raise ValueError("not a mapping")
            return numeric_config(raw)
    except (OSError, ValueError, yaml.YAMLError) as e:
        which = fp if fp.exists() else cy
        raise RunDirError(
            f"{which} is unreadable ({str(e).splitlines()[0]}); nothing was changed. Use another --out, or --restart "
            f"to move the old contents to {path}/{PREVIOUS_PREFIX}<time>/"
        ) from None
    return None


def check_run_dir(
    path: str | Path, config: Mapping[str, Any], normalise: Callable[[dict[str, Any]], dict[str, Any]] | None = None
) -> bool:
    """Whether ``path`` already holds a run of ``config`` (``False``: no run there yet). Reads only.

    ``normalise`` maps a recorded config to its current validated form (new schema fields take their defaults, so a
    field added to coterie after the run does not count as a change); when it fails, the raw record is compared.

    Raises:
        RunDirMismatch: the recorded configuration differs, naming each differing field.
        RunDirError: the record is unreadable.
    """
    path = Path(path)
    recorded = read_recorded(path)
    if recorded is None:
        return False
    if normalise is not None:
        with contextlib.suppress(ValueError):  # a field renamed or removed since: compare the record as it is
            recorded = normalise(recorded)
    old, new = numeric_config(recorded), numeric_config(config)
    if fingerprint(old) == fingerprint(new):
        return True
    raise RunDirMismatch(path, config_diff(old, new))


def write_fingerprint(path: str | Path, config: Mapping[str, Any]) -> None:
    """Write ``path/fingerprint.json`` for ``config`` (atomically)."""
    record = {
        "version": FINGERPRINT_VERSION,
        "fingerprint": fingerprint(config),
        "config": numeric_config(config),
        "excluded": list(NON_NUMERIC_FIELDS),
    }
    atomic_write_text(Path(path) / FINGERPRINT_FILE, json.dumps(record, indent=2, sort_keys=True) + "\n")


def move_aside(path: str | Path) -> Path | None:
    """Move everything in run directory ``path`` (except earlier ``.previous-*`` folders) into
    ``path/.previous-<UTC time>/``; returns that folder, or ``None`` when there was nothing to move. Nothing is
    deleted: each entry is renamed, on the same file system."""
    path = Path(path)
    if not path.is_dir():
        return None
    entries = [p for p in sorted(path.iterdir()) if not p.name.startswith(PREVIOUS_PREFIX)]
    if not entries:
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    dest = path / f"{PREVIOUS_PREFIX}{stamp}"
    n = 1
    while True:
        try:
            dest.mkdir()
            break
        except FileExistsError:
            n += 1
            dest = path / f"{PREVIOUS_PREFIX}{stamp}-{n}"
    for p in entries:
        os.rename(p, dest / p.name)
    return dest
