"""Reuse of learned activations across tasks (``activations_from: {run: RUN_DIR, model: nn}``).

An ``ldnn`` run with ``activations_from`` skips meta-learning: it loads the exported activation tables that an
earlier ``ldnn`` run saved (``RUN_DIR/ldnn-<source task>-<model>-activations.safetensors``, the
:class:`~coterie.neurons.InterpolatedActivation` samples on the even grid) and trains its arms with them on its own
task. The tables are used unchanged when the target's ``export_kind`` is the source's; otherwise (a cubic export for
a Hamiltonian target, which trains through σ'') a spline through the same samples, so the reused activations equal
the source's at every sample point.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from coterie.experiments.artifacts.ldnn import load_activations
from coterie.experiments.ldnn.config import LdnnConfig, export_kind
from coterie.neurons import InterpolatedActivation
from coterie.utils.errors import InputError


def source_run(cfg: LdnnConfig) -> dict[str, Any]:
    """Provenance of ``cfg.activations_from`` after checking it names an ldnn run holding tables for its model:
    ``{run, model, task, fingerprint, path}`` (``path``: the tables' file; ``fingerprint``: the source run's, or
    ``None`` for a run made before fingerprints).

    Raises:
        InputError: the run directory does not exist, is not an ldnn run, or has no tables for that model.
    """
    src = cfg.activations_from
    if src is None:
        raise InputError("activations_from is not set")
    run = Path(src.run)
    if not run.is_dir():
        raise InputError(f"activations_from.run {run}: no such run directory")
    config_file = run / "config.yaml"
    if not config_file.is_file():
        raise InputError(f"activations_from.run {run}: not a coterie run directory (no config.yaml)")
    source_cfg = yaml.safe_load(config_file.read_text()) or {}
    if source_cfg.get("experiment") != "ldnn":
        raise InputError(
            f"activations_from.run {run}: not an ldnn run (experiment: {source_cfg.get('experiment')!r}); "
            "it must be the run directory of an ldnn config"
        )
    task = source_cfg.get("task", "mnist1d")
    tables = run / f"ldnn-{task}-{src.model}-activations.safetensors"
    if not tables.is_file():
        have = sorted(p.name.split("-")[2] for p in run.glob(f"ldnn-{task}-*-activations.safetensors"))
        raise InputError(
            f"activations_from.run {run}: no exported activation tables for model {src.model!r} "
            f"(tables for: {have or 'none — its meta-learning has not finished'})"
        )
    fp_file = run / "fingerprint.json"
    fp = json.loads(fp_file.read_text()).get("fingerprint") if fp_file.is_file() else None
    return {"run": str(run), "model": src.model, "task": task, "fingerprint": fp, "path": str(tables)}


def reused_activations(cfg: LdnnConfig, kind: str, source: dict[str, Any]) -> list[InterpolatedActivation]:
    """The source run's tables (``source`` from :func:`source_run`) for target model ``kind``: the same samples,
    interpolated with the target's export kind.

    Raises:
        InputError: the tables' number of types, range or points differ from ``cfg``'s
            (``num_types``, ``export_range``, ``export_points``).
    """
    tables = list(load_activations(source["path"]).values())
    got = (len(tables), tables[0].lo, tables[0].hi, tables[0].points)
    want = (cfg.num_types, -cfg.export_range, cfg.export_range, cfg.export_points)
    if got != want:
        raise InputError(
            f"activations_from.run {source['run']}: its tables are {got[0]} types of {got[3]} points on "
            f"[{got[1]:g}, {got[2]:g}], this config asks for {want[0]} types of {want[3]} points on "
            f"[{want[1]:g}, {want[2]:g}] (num_types, export_points, export_range must match)"
        )
    interp = export_kind(cfg, kind)
    # the same kind: the saved tables as they are (coefficients included); another: a spline through the samples
    return [
        t if t.kind == interp else InterpolatedActivation(t.samples, t.lo, t.hi, interp, t.extrapolate) for t in tables
    ]
