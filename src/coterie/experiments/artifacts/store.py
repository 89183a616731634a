"""Pickle-free artefact files: a module's (or several modules') tensors in ``.safetensors`` plus a JSON header.

A file written by :func:`save_modules` holds every tensor of the modules' ``state_dict`` (several modules are
stored under ``<key>/`` prefixes) and, in the safetensors metadata under ``"coterie"``, a JSON object saying how to
rebuild them (model name and constructor arguments, ...), so a run directory is self-describing. Tensors are saved
as owned, contiguous CPU copies: packed ensemble members are views of shared storage, which safetensors refuses.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from coterie.utils.io import atomic_write_bytes, to_jsonable

META_KEY = "coterie"
FINAL_OR_BEST = ("final", "best")


def owned(t: torch.Tensor) -> torch.Tensor:
    """A contiguous CPU copy with storage of its own."""
    return t.detach().to("cpu", copy=True).contiguous()


def _flat_state(modules: nn.Module | Mapping[str, nn.Module]) -> dict[str, torch.Tensor]:
    if isinstance(modules, nn.Module):
        return {k: owned(v) for k, v in modules.state_dict().items()}
    out: dict[str, torch.Tensor] = {}
    for key, mod in modules.items():
        if "/" in key:
            raise ValueError(f"artefact key {key!r} must not contain '/'")
        out.update({f"{key}/{k}": owned(v) for k, v in mod.state_dict().items()})
    return out


def save_tensors(path: Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> Path:
    """Write ``tensors`` and the JSON header ``meta`` to ``path`` atomically; returns ``path``."""
    from safetensors.torch import save

    data = save({k: owned(v) for k, v in tensors.items()}, metadata={META_KEY: json.dumps(to_jsonable(dict(meta)))})
    atomic_write_bytes(Path(path), data)
    return Path(path)


def save_modules(path: Path, modules: nn.Module | Mapping[str, nn.Module], meta: Mapping[str, Any]) -> Path:
    """Save one module's state (or several, keyed) with the rebuild header ``meta`` (see the module docstring).

    For several modules the header also records their keys in order (``meta["keys"]``).
    """
    if not isinstance(modules, nn.Module):
        meta = {**meta, "keys": list(modules)}
    return save_tensors(path, _flat_state(modules), meta)


def load_tensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``(tensors, meta)`` of a file written by :func:`save_tensors`; a clear error if it is missing or corrupt."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"artefact {path} is missing: the run did not finish, or predates artefact saving")
    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            meta = json.loads((f.metadata() or {}).get(META_KEY, "{}"))
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (not iterable)
    except Exception as e:  # safetensors raises its own error types for truncated / corrupt headers
        raise ValueError(f"artefact {path} is truncated or corrupt ({e}); re-run the experiment to rewrite it") from e
    return tensors, meta


def split_keyed(tensors: Mapping[str, torch.Tensor], meta: Mapping[str, Any]) -> dict[str, dict[str, torch.Tensor]]:
    """Undo the ``<key>/`` prefixes of a multi-module file: ``{key: state_dict}`` in the order saved."""
    out: dict[str, dict[str, torch.Tensor]] = {k: {} for k in meta.get("keys", [])}
    for name, t in tensors.items():
        key, _, rest = name.partition("/")
        out.setdefault(key, {})[rest] = t
    return out


def finish(module: nn.Module, state: Mapping[str, torch.Tensor], device: torch.device | str | None) -> nn.Module:
    """Load ``state`` strictly into ``module``, move it to ``device`` (default CPU), eval mode, no gradients."""
    module.load_state_dict(dict(state), strict=True)
    module.to(torch.device(device) if device is not None else torch.device("cpu"))
    module.eval()
    module.requires_grad_(False)
    return module


def check_which(which: str, experiment: str, allowed: tuple[str, ...] = FINAL_OR_BEST) -> str:
    """Return ``which`` if allowed, else raise naming the allowed values."""
    if which not in allowed:
        raise ValueError(f"{experiment}: which={which!r} is not available; allowed: {', '.join(allowed)}")
    return which


# ------------------------------------------------------------------------------------- registry models, ensembles
def model_meta(name: str, kwargs: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The header rebuilding ``coterie.models.create(name, **kwargs)``."""
    return {"model": name, "kwargs": dict(kwargs), **extra}


def build_model(meta: Mapping[str, Any]) -> nn.Module:
    from coterie import models

    return models.create(meta["model"], **meta["kwargs"])


def save_ensemble(path: Path, ensemble: nn.Module, name: str, kwargs: Mapping[str, Any], **extra: Any) -> Path:
    """Save an :class:`~coterie.ensemble.Ensemble` of ``models.create(name, **kwargs)`` members."""
    meta = model_meta(name, kwargs, n_members=len(ensemble.members), executor=ensemble.executor, **extra)
    return save_modules(path, ensemble, meta)


def load_ensemble(path: Path, device: torch.device | str | None = None) -> Any:
    """The :class:`~coterie.ensemble.Ensemble` saved by :func:`save_ensemble`, in eval mode on ``device``."""
    from coterie.ensemble import Ensemble

    tensors, meta = load_tensors(path)
    ens = Ensemble([build_model(meta) for _ in range(int(meta["n_members"]))], executor=meta.get("executor", "auto"))
    return finish(ens, tensors, device)


def load_model(path: Path, device: torch.device | str | None = None) -> nn.Module:
    """The single registry model saved with a :func:`model_meta` header, in eval mode on ``device``."""
    tensors, meta = load_tensors(path)
    return finish(build_model(meta), tensors, device)
