"""Artefacts of ``experiment: merge``: the independently trained parents and every merged network.

Files in the run directory: ``merge-parents.safetensors`` (the ``members`` trained networks, keys ``member<i>``) and
``merged-<stage>-<variant>.safetensors`` for each merged network (``stage``: ``pair`` — members 0 and 1 — or
``hierarchy`` — all members), e.g. ``merged-pair-aligned-mega-scalar.safetensors``. Each header records the model
name and its full constructor arguments (inferred ones included), so the networks rebuild without the data.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from coterie.experiments.artifacts import store
from coterie.utils.rundir import RunDir

PARENTS = "merge-parents.safetensors"
STAGES = ("pair", "hierarchy")


def save_parents(rundir: RunDir, model: str, kwargs: dict[str, Any], members: list[nn.Module]) -> None:
    """Write the trained parents to ``merge-parents.safetensors``."""
    meta = store.model_meta(model, kwargs, experiment="merge")
    store.save_modules(rundir.path / PARENTS, {f"member{i}": m for i, m in enumerate(members)}, meta)


def save_merged(rundir: RunDir, model: str, kwargs: dict[str, Any], stage: str, variant: str, net: nn.Module) -> None:
    """Write one merged network to ``merged-<stage>-<variant>.safetensors``."""
    meta = store.model_meta(model, kwargs, experiment="merge", stage=stage, variant=variant)
    store.save_modules(rundir.path / f"merged-{stage}-{variant}.safetensors", net, meta)


def load(cfg: Any, rundir: RunDir, which: str, device: torch.device | None) -> dict[str, Any]:
    """``{"parents": [nn.Module, ...], "pair": {variant: nn.Module}, "hierarchy": {variant: nn.Module}}``, every
    network in eval mode on ``device``. ``which``: ``final`` or ``best`` — both give the final weights (merging
    selects no epoch)."""
    store.check_which(which, "merge")
    tensors, meta = store.load_tensors(rundir.path / PARENTS)
    parents = [store.finish(store.build_model(meta), s, device) for s in store.split_keyed(tensors, meta).values()]
    out: dict[str, Any] = {"parents": parents, **{s: {} for s in STAGES}}
    results = rundir.read_results() or {}
    for stage in STAGES:
        order = list(results.get(stage, {}).get("merged", {}))
        paths = {
            p.name[len(f"merged-{stage}-") : -len(".safetensors")]: p
            for p in rundir.path.glob(f"merged-{stage}-*.safetensors")
        }
        for variant in [v for v in order if v in paths] + sorted(v for v in paths if v not in order):
            tensors, meta = store.load_tensors(paths[variant])
            out[stage][variant] = store.finish(store.build_model(meta), tensors, device)
    return out
