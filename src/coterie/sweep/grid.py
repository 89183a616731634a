"""Sweep specification and grid expansion.

A sweep file is an ordinary experiment config plus a top-level ``sweep`` section::

    sweep:
      name: colearn-mnist1d-sweep
      grid:                                  # Cartesian product over any dotted config field
        objective.params.beta: [-2, -1, 0, 1]
        ensemble.size: [2, 5, 10]
        seed: [0, 1, 2, 3, 4]
    experiment: colearn
    ...                                      # the base configuration shared by every run

Every grid point is applied to the base with :func:`coterie.config.with_overrides` and validated *before any run
starts*; a grid key that names no config field fails with :class:`SweepError` naming the key.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coterie.config import ConfigError, set_dotted, validate_config
from coterie.experiments.registry import ExperimentConfig
from coterie.utils.errors import InputError


class SweepError(InputError):
    """An invalid sweep specification (unknown grid field, empty grid, bad values); the message names the field."""


def canonical_json(obj: Any) -> str:
    """Deterministic JSON text (sorted keys, no spaces) used for hashing."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str)


def short_hash(obj: Any, n: int = 10) -> str:
    """The first ``n`` hex digits of the SHA-256 of :func:`canonical_json` of ``obj``."""
    return hashlib.sha256(canonical_json(obj).encode()).hexdigest()[:n]


@dataclass(frozen=True)
class RunSpec:
    """One grid point: its overrides, the validated config, and a stable identity.

    ``run_id`` hashes the configuration as written (base + overrides) with ``device`` removed (the same run on another
    device is the same run), so it is independent of the grid's order.
    """

    overrides: dict[str, Any]
    config: ExperimentConfig
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def config_dict(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    @property
    def run_id(self) -> str:
        """Hash of the configuration as written (base with this point's overrides), ``device`` excluded: stable
        when the schema gains defaulted fields, and the same on any device."""
        d = copy.deepcopy(self.raw) if self.raw else self.config_dict
        d.pop("device", None)
        return short_hash(d, 16)

    @property
    def name(self) -> str:
        """A readable directory name: ``beta=-1_size=5_seed=0-<hash8>``."""
        parts = []
        for k, v in self.overrides.items():
            key = k.split(".")[-1]
            val = canonical_json(v).replace("/", "_").replace(" ", "")
            parts.append(f"{key}={val}")
        stem = "_".join(parts)[:120] or "run"
        return f"{stem}-{self.run_id[:8]}"


@dataclass
class SweepSpec:
    """A base configuration and a grid of dotted-field values."""

    name: str
    base: dict[str, Any]
    grid: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def sweep_id(self) -> str:
        """Identity of the sweep: its name and base configuration (the grid may grow: more seeds, more β)."""
        base = {k: v for k, v in self.base.items() if k != "device"}
        return short_hash({"name": self.name, "base": base}, 16)

    def expand(self) -> list[RunSpec]:
        """All grid points as validated :class:`RunSpec` (Cartesian product, in grid order).

        Raises:
            SweepError: a grid key names no config field, or a value is invalid (the message names the field).
        """
        base_cfg = _validate(self.base, "the base configuration")
        _check_grid_keys(self.base, self.grid)
        keys = list(self.grid)
        runs = []
        seen: set[str] = set()
        for values in itertools.product(*(self.grid[k] for k in keys)) if keys else [()]:
            overrides = dict(zip(keys, values))
            raw = copy.deepcopy(self.base)
            for k, v in overrides.items():
                set_dotted(raw, k, v)
            cfg = _validate(raw, f"grid point {overrides}") if overrides else base_cfg
            spec = RunSpec(overrides, cfg, raw)
            if spec.run_id in seen:
                continue
            seen.add(spec.run_id)
            runs.append(spec)
        check_no_typed_twins(runs)
        return runs


def check_no_typed_twins(
    runs: Sequence[RunSpec], recorded: Mapping[str, Mapping[str, Any]] | None = None, where: str = ""
) -> None:
    """Refuse a grid point whose overrides equal, in value but not as written (``-1`` and ``-1.0``, ``1`` and
    ``true``), those of a ``recorded`` run (``{run_id: overrides}``) or, without ``recorded``, of another point of
    ``runs``: the two spellings hash to two run ids, so the same run would be trained and recorded twice.

    Raises:
        SweepError: naming both spellings.
    """
    index = {_value_key(o): (run_id, o) for run_id, o in (recorded or {}).items()}  # equal numbers: equal keys
    where = where or ("a run recorded in results.sqlite" if recorded is not None else "another point of this grid")
    for r in runs:
        key = _value_key(r.overrides)
        hit = index.get(key)
        if hit is not None and hit[0] != r.run_id:
            other = canonical_json(hit[1])
            raise SweepError(
                f"grid point {canonical_json(r.overrides)} is {other} ({where}) written another way (a number's type "
                f"differs), so it would run twice: write it as {other}"
            )
        if recorded is None:
            index[key] = (r.run_id, r.overrides)


def _value_key(v: Any) -> Any:
    """A hashable key equal for equal values (Python's ``hash(1) == hash(1.0) == hash(True)``)."""
    if isinstance(v, Mapping):
        return tuple(sorted((str(k), _value_key(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_value_key(x) for x in v)
    return v


def _validate(raw: Mapping[str, Any], what: str) -> ExperimentConfig:
    try:
        return validate_config(raw)
    except ConfigError as e:
        raise SweepError(f"{what}: {e}") from None


def _check_grid_keys(base: Mapping[str, Any], grid: Mapping[str, Sequence[Any]]) -> None:
    """Each grid key must name a field of the experiment's schema (checked by validating a probe config)."""
    for key, values in grid.items():
        if not isinstance(values, (list, tuple)) or len(values) == 0:
            raise SweepError(f"sweep.grid.{key}: needs a non-empty list of values, got {values!r}")
        raw = copy.deepcopy(dict(base))
        try:
            set_dotted(raw, key, values[0])
        except ConfigError as e:
            raise SweepError(f"sweep.grid.{key}: {e}") from None
        try:
            validate_config(raw)
        except ConfigError as e:
            msg = str(e)
            if "unknown field" in msg or "unknown argument" in msg:
                raise SweepError(f"sweep.grid.{key}: unknown config field {key!r}\n{msg}") from None
            raise SweepError(f"sweep.grid.{key} = {values[0]!r}: {msg}") from None


def parse_sweep(raw: Mapping[str, Any], default_name: str = "sweep") -> SweepSpec:
    """A :class:`SweepSpec` from a mapping with a ``sweep`` section (a plain config is a one-run sweep)."""
    if not isinstance(raw, Mapping):
        raise SweepError(f"a sweep file must be a mapping, got {type(raw).__name__}")
    raw = dict(raw)
    section = raw.pop("sweep", None) or {}
    if not isinstance(section, Mapping):
        raise SweepError("sweep: must be a mapping with 'grid' (and optionally 'name')")
    unknown = set(section) - {"name", "grid"}
    if unknown:
        raise SweepError(f"sweep: unknown field(s) {sorted(unknown)}; allowed: ['grid', 'name']")
    grid = section.get("grid") or {}
    if not isinstance(grid, Mapping):
        raise SweepError("sweep.grid: must map dotted config fields to lists of values")
    name = str(section.get("name") or raw.get("name") or default_name)
    raw.setdefault("experiment", "train")
    return SweepSpec(
        name=name, base=raw, grid={str(k): list(v) if isinstance(v, (list, tuple)) else v for k, v in grid.items()}
    )


def load_sweep(path: str | Path) -> SweepSpec:
    """Read a sweep YAML file."""
    path = Path(path)
    if not path.exists():
        raise SweepError(f"sweep file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise SweepError(f"{path} is not valid YAML: {e}") from None
    return parse_sweep(raw, default_name=path.stem)
