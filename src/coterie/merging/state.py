"""Weight vectors of same-architecture models: compatibility checks and a flat layout of the blendable state.

Merging works on the *state* of a model (``state_dict()``), split in two:

- **blended** entries: floating-point parameters and floating-point buffers (BatchNorm running mean / variance).
  Each model's blended entries are laid end to end into one flat vector of length D, in state-dict order; a
  population of P candidates is a (P, D) matrix.
- **copied** entries: non-floating buffers (BatchNorm ``num_batches_tracked``) and the input-normalisation buffers
  ``input_mean`` / ``input_std`` of :class:`coterie.models.CoterieModel` — constants of the data, not learned weights.
  They are copied from the first (reference) model, never blended.

Only *parameters* are mutable by MeGA's Gaussian mutation: noise on a running variance could make it negative.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

COPIED_NAMES: tuple[str, ...] = ("input_mean", "input_std")


class ArchitectureMismatchError(ValueError):
    """Models that cannot be merged; the message names the first tensor that differs."""


def check_compatible(models: Sequence[nn.Module]) -> None:
    """Raise :class:`ArchitectureMismatchError` unless every model has model 0's class and state layout.

    The state dicts are compared entry by entry in order; the error names the first mismatching tensor (a
    different name, shape or dtype, or a tensor one model has and the other lacks).
    """
    if len(models) == 0:
        raise ValueError("need at least one model")
    ref = models[0].state_dict()
    ref_items = list(ref.items())
    for i, m in enumerate(models[1:], start=1):
        items = list(m.state_dict().items())
        for pos in range(max(len(ref_items), len(items))):
            if pos >= len(items):
                raise ArchitectureMismatchError(
                    f"model {i} ({type(m).__name__}) lacks tensor {ref_items[pos][0]!r} of model 0 "
                    f"({type(models[0]).__name__}), shape {tuple(ref_items[pos][1].shape)}"
                )
            if pos >= len(ref_items):
                raise ArchitectureMismatchError(
                    f"model {i} ({type(m).__name__}) has an extra tensor {items[pos][0]!r}, shape "
                    f"{tuple(items[pos][1].shape)}, that model 0 ({type(models[0]).__name__}) lacks"
                )
            (k0, v0), (k1, v1) = ref_items[pos], items[pos]
            if k0 != k1:
                raise ArchitectureMismatchError(
                    f"first mismatching tensor at position {pos}: model 0 has {k0!r} {tuple(v0.shape)}, "
                    f"model {i} has {k1!r} {tuple(v1.shape)}"
                )
            if v0.shape != v1.shape:
                raise ArchitectureMismatchError(
                    f"first mismatching tensor {k0!r}: shape {tuple(v0.shape)} in model 0, {tuple(v1.shape)} in "
                    f"model {i}"
                )
            if v0.dtype != v1.dtype:
                raise ArchitectureMismatchError(
                    f"first mismatching tensor {k0!r}: dtype {v0.dtype} in model 0, {v1.dtype} in model {i}"
                )
        if type(m) is not type(models[0]):
            raise ArchitectureMismatchError(
                f"model {i} is a {type(m).__name__}, model 0 a {type(models[0]).__name__} (same tensors, but a "
                "different forward)"
            )


def is_copied(key: str, value: Tensor) -> bool:
    """Whether state entry ``key`` is copied from the reference model rather than blended."""
    return (not value.is_floating_point()) or key.rsplit(".", 1)[-1] in COPIED_NAMES


@dataclass(frozen=True)
class Entry:
    """One blended tensor: its state-dict key, shape, and slice ``[offset, offset + numel)`` of the flat vector."""

    key: str
    shape: tuple[int, ...]
    offset: int
    numel: int
    is_parameter: bool


class StateLayout:
    """The flat layout of a model's blended state (see module docstring).

    Args:
        template: a model of the architecture; it is never modified.
    """

    def __init__(self, template: nn.Module) -> None:
        self.template = template
        params = {k for k, _ in template.named_parameters()}
        sd = template.state_dict()
        entries, offset = [], 0
        self.copied: dict[str, Tensor] = {}
        for k, v in sd.items():
            if is_copied(k, v):
                self.copied[k] = v.detach().clone()
                continue
            entries.append(Entry(k, tuple(v.shape), offset, v.numel(), k in params))
            offset += v.numel()
        self.entries: list[Entry] = entries
        self.dim = offset
        self.keys = [k for k in sd]

    @property
    def parameter_keys(self) -> list[str]:
        return [e.key for e in self.entries if e.is_parameter]

    @property
    def buffer_keys(self) -> list[str]:
        """Blended buffers (running statistics)."""
        return [e.key for e in self.entries if not e.is_parameter]

    def flatten(self, model: nn.Module | dict[str, Tensor]) -> Tensor:
        """The blended state of ``model`` (or a state dict) as one vector (D,)."""
        sd = model.state_dict() if isinstance(model, nn.Module) else model
        return torch.cat([sd[e.key].detach().reshape(-1).to(torch.float32) for e in self.entries])

    def unflatten(self, flat: Tensor) -> dict[str, Tensor]:
        """A full state dict from a vector (D,): blended entries are views of ``flat``, copied ones the template's."""
        if flat.shape != (self.dim,):
            raise ValueError(f"expected a vector of shape ({self.dim},), got {tuple(flat.shape)}")
        out = {e.key: flat[e.offset : e.offset + e.numel].view(e.shape) for e in self.entries}
        out.update({k: v.to(flat.device) for k, v in self.copied.items()})
        return {k: out[k] for k in self.keys}

    def stacked(self, population: Tensor) -> dict[str, Tensor]:
        """State of P candidates (P, D) as ``{key: (P, *shape)}`` (views); copied entries expanded to (P, ...)."""
        p = population.shape[0]
        out = {e.key: population[:, e.offset : e.offset + e.numel].view(p, *e.shape) for e in self.entries}
        out.update({k: v.to(population.device).expand(p, *v.shape) for k, v in self.copied.items()})
        return {k: out[k] for k in self.keys}

    def parameter_mask(self, device: torch.device | str | None = None) -> Tensor:
        """Boolean vector (D,): True where the element belongs to a parameter (mutable), False for buffers."""
        mask = torch.zeros(self.dim, dtype=torch.bool, device=device)
        for e in self.entries:
            if e.is_parameter:
                mask[e.offset : e.offset + e.numel] = True
        return mask

    def tensor_index(self, device: torch.device | str | None = None) -> Tensor:
        """Long vector (D,): the index (into :attr:`entries`) of the tensor each element belongs to."""
        sizes = torch.tensor([e.numel for e in self.entries], device=device)
        return torch.repeat_interleave(torch.arange(len(self.entries), device=device), sizes)

    def build(self, flat: Tensor) -> nn.Module:
        """A new model (deep copy of the template) holding the state ``flat`` (D,)."""
        model = copy.deepcopy(self.template)
        model.load_state_dict({k: v.clone() for k, v in self.unflatten(flat).items()})
        return model
