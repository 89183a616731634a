"""Artefacts of ``experiment: expansion``: every evaluated variant's ensemble.

Files: ``ensemble-<variant>.safetensors`` in the run directory, one per entry of ``results.json``'s ``methods``
(``base``, ``add-freeze_+0``, ``add-retrain``, ``scratch_<E>ep``, ``boost_m<m>``; a boost variant skipped for an
empty decision border has none). Each holds the ensemble's ``state_dict`` and a header with the member model's name
and full constructor arguments (inferred ones included), so it rebuilds without the data.
"""

from __future__ import annotations

from typing import Any

import torch

from coterie.experiments.artifacts import store
from coterie.utils.rundir import RunDir

PREFIX = "ensemble-"


def save_variant(rundir: RunDir, model: str, kwargs: dict[str, Any], variant: str, ensemble: Any) -> None:
    """Write ``ensemble-<variant>.safetensors`` (members built by ``models.create(model, **kwargs)``)."""
    path = rundir.path / f"{PREFIX}{variant}.safetensors"
    store.save_ensemble(path, ensemble, model, kwargs, experiment="expansion", variant=variant)


def load(cfg: Any, rundir: RunDir, which: str, device: torch.device | None) -> dict[str, Any]:
    """``{variant: Ensemble}`` (eval mode) in ``results.json`` order. ``which``: ``final`` or ``best`` — both give
    the final weights (the experiment selects no epoch)."""
    store.check_which(which, "expansion")
    files = {p.name[len(PREFIX) : -len(".safetensors")]: p for p in rundir.path.glob(f"{PREFIX}*.safetensors")}
    if not files:
        raise FileNotFoundError(f"{rundir.path} holds no {PREFIX}*.safetensors: the expansion run did not finish")
    order = list((rundir.read_results() or {}).get("methods", {}))
    names = [n for n in order if n in files] + sorted(n for n in files if n not in order)
    return {n: store.load_ensemble(files[n], device) for n in names}
