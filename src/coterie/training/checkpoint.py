"""Checkpoints without pickle: tensors in ``.safetensors``, everything else in JSON.

A checkpoint is the pair ``epoch-NNNN.safetensors`` (model and optimiser tensors, RNG state) and ``last.json`` (epoch,
optimiser hyper-parameters, history, and the name of the tensor file). ``last.json`` is replaced atomically *after*
its tensor file is complete, so a run killed at any moment leaves the previous checkpoint intact; stale tensor files
are removed afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from coterie.utils.io import atomic_write_text, to_jsonable

INDEX = "last.json"


def _owned(t: torch.Tensor) -> torch.Tensor:
    """A CPU copy with storage of its own: packed members (coterie.ensemble.packing) and their momentum buffers are
    slices of shared storage, which safetensors refuses to write."""
    return t.detach().to("cpu", copy=True, memory_format=torch.contiguous_format)


def _optimizer_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    sd = opt.state_dict()
    tensors: dict[str, torch.Tensor] = {}
    meta: dict[str, Any] = {"param_groups": sd["param_groups"], "state": {}}
    for pid, st in sd["state"].items():
        m: dict[str, Any] = {}
        for k, v in st.items():
            if isinstance(v, torch.Tensor):
                tensors[f"optim/{pid}/{k}"] = _owned(v)
                m[k] = "__tensor__"
            else:
                m[k] = v
        meta["state"][str(pid)] = m
    return tensors, meta


def save_checkpoint(
    directory: Path, epoch: int, model: nn.Module, optimizer: torch.optim.Optimizer, extra: dict[str, Any]
) -> Path:
    """Write the checkpoint for ``epoch`` (completed) into ``directory``; returns the tensor file path."""
    directory.mkdir(parents=True, exist_ok=True)
    tensors = {f"model/{k}": _owned(v) for k, v in model.state_dict().items()}
    opt_tensors, opt_meta = _optimizer_tensors(optimizer)
    tensors.update(opt_tensors)
    tensors["rng/torch"] = torch.get_rng_state()
    name = f"epoch-{epoch:04d}.safetensors"
    tmp = directory / f".{name}.tmp"
    save_file(tensors, str(tmp))
    tmp.replace(directory / name)
    index = {"epoch": epoch, "tensors": name, "optimizer": opt_meta, **extra}
    atomic_write_text(directory / INDEX, json.dumps(to_jsonable(index)))
    for old in directory.glob("epoch-*.safetensors"):
        if old.name != name:
            old.unlink(missing_ok=True)
    return directory / name


def has_checkpoint(directory: Path) -> bool:
    return (directory / INDEX).exists()


def load_checkpoint(
    directory: Path, model: nn.Module, optimizer: torch.optim.Optimizer | None = None
) -> dict[str, Any]:
    """Restore model (and optimiser, and torch RNG) from ``directory``; returns the JSON index."""
    index = json.loads((directory / INDEX).read_text())
    tensors = load_file(str(directory / index["tensors"]))
    state = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
    model.load_state_dict(state)
    if optimizer is not None:
        meta = index["optimizer"]
        opt_state: dict[int, dict[str, Any]] = {}
        for pid, st in meta["state"].items():
            opt_state[int(pid)] = {k: (tensors[f"optim/{pid}/{k}"] if v == "__tensor__" else v) for k, v in st.items()}
        optimizer.load_state_dict({"state": opt_state, "param_groups": meta["param_groups"]})
    torch.set_rng_state(tensors["rng/torch"])
    return index


def load_model_weights(path: Path, model: nn.Module) -> None:
    """Load only the model tensors of a checkpoint file (``*.safetensors``) into ``model``."""
    tensors = load_file(str(path))
    state = {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}
    if not state:
        state = tensors
    model.load_state_dict(state)
