"""Artefacts of ``experiment: ldnn``: the meta-learned network, the exported activations and every trained arm.

Per model kind (``tag`` = ``<task>-<kind>``, e.g. ``mnist1d-nn``, ``henonheiles-hnn``), in the run directory:

- ``ldnn-<tag>-meta.safetensors``: the meta-learned network (its :class:`~coterie.neurons.LearnedActivation`
  sub-networks included);
- ``ldnn-<tag>-activations.safetensors``: the exported :class:`~coterie.neurons.InterpolatedActivation` tables,
  keys ``type1``, ``type2``, ... (``samples`` (P,) on the even grid [lo, hi], spline ``coef``, ``ends``);
- ``ldnn-<tag>-arm-<arm>.safetensors``: the arm's trained networks, one per evaluation seed (keys ``seed<s>``).

Every header records the task, kind, hidden widths and the data-derived sizes (input/output widths, physics input
normalisation and output scale), so the networks rebuild without the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from coterie.experiments.artifacts import store
from coterie.utils.rundir import RunDir


def build_network(task: str, kind: str, hidden: Sequence[int], activation: Any, dims: dict[str, Any]) -> nn.Module:
    """The network of ``task``/``kind`` with hidden widths ``hidden`` and ``activation`` (an ActivationSpec).

    ``dims``: ``{"in", "out"}`` (mnist1d) or ``{"dim", "mean", "std", "out_scale"}`` (physics tasks).
    """
    from coterie import models
    from coterie.models import DiverseMLP

    hidden = tuple(hidden)
    if task == "mnist1d":
        return DiverseMLP(dims["in"], dims["out"], hidden, activation)
    common = dict(dim=dims["dim"], hidden=hidden, activation=activation, mean=dims["mean"], std=dims["std"])
    if kind == "hnn":
        return models.create("hnn", **common)
    return models.create("physics-mlp", **common, output_scale=dims["out_scale"])


def _header(cfg: Any, kind: str, dims: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"experiment": "ldnn", "task": cfg.task, "kind": kind, "hidden": list(cfg.hidden), "dims": dims, **extra}


def save_learned(
    rundir: RunDir,
    cfg: Any,
    kind: str,
    dims: dict[str, Any],
    meta_model: nn.Module | None,
    exported: Sequence[nn.Module],
) -> None:
    """Write the meta-learned network (``None``: reused activations, none) and the exported activation tables of one
    model kind."""
    tag = f"{cfg.task}-{kind}"
    spec = {"num_types": cfg.num_types, "base": cfg.base, "hidden": cfg.sub_hidden, "scale": cfg.scale}
    if meta_model is not None:
        header = _header(cfg, kind, dims, learned_spec=spec)
        store.save_modules(rundir.path / f"ldnn-{tag}-meta.safetensors", meta_model, header)
    e = exported[0]
    interp = {"lo": e.lo, "hi": e.hi, "interp_kind": e.kind, "extrapolate": e.extrapolate}
    store.save_modules(
        rundir.path / f"ldnn-{tag}-activations.safetensors",
        {f"type{k + 1}": a for k, a in enumerate(exported)},
        _header(cfg, kind, dims, **interp),
    )


def save_arm(
    rundir: RunDir,
    cfg: Any,
    kind: str,
    dims: dict[str, Any],
    arm: str,
    activation: Any,
    exported: Sequence[nn.Module],
    nets: Sequence[nn.Module],
) -> None:
    """Write one arm's trained networks; ``activation`` is a fixed name or a list of exported types."""
    act = activation if isinstance(activation, str) else [f"type{exported.index(a) + 1}" for a in activation]
    store.save_modules(
        rundir.path / f"ldnn-{cfg.task}-{kind}-arm-{arm}.safetensors",
        {f"seed{s}": m for s, m in enumerate(nets)},
        _header(cfg, kind, dims, arm=arm, activation=act),
    )


def load_activations(path: Any) -> dict[str, nn.Module]:
    """The exported tables of one ``-activations.safetensors`` file, ``{"type1": InterpolatedActivation, ...}``."""
    from coterie.neurons import InterpolatedActivation

    tensors, meta = store.load_tensors(path)
    out: dict[str, nn.Module] = {}
    for key, state in store.split_keyed(tensors, meta).items():
        act = InterpolatedActivation(state["samples"], meta["lo"], meta["hi"], meta["interp_kind"], meta["extrapolate"])
        out[key] = store.finish(act, state, None)
    return out


def _meta_network(rundir: RunDir, tag: str, device: torch.device | None) -> nn.Module:
    """The meta-learned network of ``tag`` (``<task>-<kind>``)."""
    from coterie.neurons import LearnedSpec

    tensors, meta = store.load_tensors(rundir.path / f"ldnn-{tag}-meta.safetensors")
    net = build_network(meta["task"], meta["kind"], meta["hidden"], LearnedSpec(**meta["learned_spec"]), meta["dims"])
    return store.finish(net, tensors, device)


def load(cfg: Any, rundir: RunDir, which: str, device: torch.device | None) -> dict[str, Any]:
    """``{kind: {"meta": nn.Module, "activations": [InterpolatedActivation], "arms": {arm: [nn.Module per seed]}}}``
    for each of ``cfg.models``, all in eval mode on ``device``. ``which``: ``final`` or ``best`` — both give the
    final weights (arms train a fixed number of steps; nothing is selected). ``"meta"`` is ``None`` for a run that
    reused another run's activations (``activations_from``): it has no meta-learned network."""
    store.check_which(which, "ldnn")
    out: dict[str, Any] = {}
    for kind in cfg.models:
        tag = f"{cfg.task}-{kind}"
        acts = load_activations(rundir.path / f"ldnn-{tag}-activations.safetensors")
        entry: dict[str, Any] = {
            "meta": None if getattr(cfg, "activations_from", None) else _meta_network(rundir, tag, device),
            "activations": list(acts.values()),
            "arms": {},
        }
        arms = [f"type{k + 1}" for k in range(len(acts))] + ["mix", *cfg.eval.baselines]
        for arm in arms:
            tensors, meta = store.load_tensors(rundir.path / f"ldnn-{tag}-arm-{arm}.safetensors")
            spec = meta["activation"]
            act = spec if isinstance(spec, str) else [acts[k] for k in spec]
            entry["arms"][arm] = [
                store.finish(build_network(cfg.task, kind, meta["hidden"], act, meta["dims"]), state, device)
                for state in store.split_keyed(tensors, meta).values()
            ]
        for a in acts.values():
            a.to(torch.device(device) if device is not None else torch.device("cpu"))
        out[kind] = entry
    return out
