"""Diverse layers: a layer's units split into N_T neuron types, each type with its own activation (seed 004).

:class:`DiverseActivation` maps a pre-activation (*, N) to an activation (*, N), applying type k's activation only
to the units assigned to type k: by default equal contiguous blocks (units 0..N/N_T-1 are type 0, and so on; the
last block takes the remainder), or any given assignment of units to types. It is an ordinary module, so it can
replace the non-linearity of any model whose activation acts on the last axis.

:func:`mlp_stack` builds a fully connected stack ``fc1, act1, ..., head`` whose hidden non-linearities come from an
:data:`ActivationSpec`, the single way coterie's learned-diversity models describe their neurons:

- a name (``"relu"``, ``"tanh"``, ``"sin"``, ...): a homogeneous layer of a fixed activation;
- a :class:`LearnedSpec`: N_T fresh :class:`LearnedActivation` types per layer (to be meta-learned);
- a sequence of modules: these N_T types (e.g. exported :class:`InterpolatedActivation`), shared by all layers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from coterie.neurons.activation import LearnedActivation, fixed_activation


@dataclass(frozen=True)
class LearnedSpec:
    """N_T learned neuron types per hidden layer, each ``LearnedActivation(base, hidden, scale)``."""

    num_types: int = 2
    base: str = "sin"
    hidden: int = 50
    scale: float = 1.0


ActivationSpec = str | LearnedSpec | Sequence[nn.Module]


def block_assignment(width: int, num_types: int) -> Tensor:
    """Equal contiguous blocks: (width,) int64 type index per unit, the last block absorbing any remainder."""
    if not 1 <= num_types <= width:
        raise ValueError(f"need 1 <= num_types <= width, got num_types={num_types}, width={width}")
    size = width // num_types
    return torch.arange(width).div(size, rounding_mode="floor").clamp_(max=num_types - 1)


class DiverseActivation(nn.Module):
    """Apply N_T activations to disjoint groups of units along the last axis.

    Args:
        width: number of units N (size of the last axis).
        types: the N_T activation modules (elementwise).
        assignment: (N,) type index of each unit in ``[0, N_T)``; ``None`` for equal contiguous blocks.

    Shapes:
        input (*, N), output (*, N). Units of type k see only ``types[k]``; ``types[k]`` sees only their values.
    """

    order: Tensor
    inverse: Tensor

    def __init__(self, width: int, types: Sequence[nn.Module], assignment: Sequence[int] | Tensor | None = None):
        super().__init__()
        if len(types) == 0:
            raise ValueError("need at least one neuron type")
        self.width = int(width)
        self.types = nn.ModuleList(types)
        n_t = len(types)
        if assignment is None:
            assign = block_assignment(width, n_t)
        else:
            assign = torch.as_tensor(assignment, dtype=torch.long).reshape(-1)
            if assign.numel() != width:
                raise ValueError(f"assignment has {assign.numel()} entries for a layer of width {width}")
            if assign.min() < 0 or assign.max() >= n_t:
                raise ValueError(f"assignment entries must lie in [0, {n_t}), got [{assign.min()}, {assign.max()}]")
        self.register_buffer("assignment", assign.clone(), persistent=True)
        order = torch.argsort(assign, stable=True)
        self.register_buffer("order", order, persistent=False)
        self.register_buffer("inverse", torch.argsort(order), persistent=False)
        self.counts = [int((assign == k).sum()) for k in range(n_t)]
        self._contiguous = bool(torch.equal(order, torch.arange(width)))

    @property
    def num_types(self) -> int:
        return len(self.types)

    def forward(self, x: Tensor) -> Tensor:
        """Activation (*, N) of pre-activation (*, N)."""
        if x.shape[-1] != self.width:
            raise ValueError(f"expected last axis of size {self.width}, got shape {tuple(x.shape)}")
        if len(self.types) == 1:
            return self.types[0](x)
        xs = x if self._contiguous else x.index_select(-1, self.order)
        parts = [act(chunk) for act, chunk in zip(self.types, xs.split(self.counts, dim=-1)) if chunk.shape[-1]]
        out = torch.cat(parts, dim=-1)
        return out if self._contiguous else out.index_select(-1, self.inverse)

    def extra_repr(self) -> str:
        return f"width={self.width}, counts={self.counts}"


def make_activation(spec: ActivationSpec, width: int, assignment: Sequence[int] | Tensor | None = None) -> nn.Module:
    """The hidden non-linearity for one layer of ``width`` units described by ``spec`` (see module docstring)."""
    if isinstance(spec, str):
        return fixed_activation(spec)
    if isinstance(spec, LearnedSpec):
        types: list[nn.Module] = [LearnedActivation(spec.base, spec.hidden, spec.scale) for _ in range(spec.num_types)]
        return DiverseActivation(width, types, assignment)
    return DiverseActivation(width, list(spec), assignment)


def mlp_stack(
    in_features: int,
    out_features: int,
    hidden: Sequence[int],
    activation: ActivationSpec,
    assignment: Sequence[int] | Tensor | None = None,
) -> nn.Sequential:
    """``fc1, act1, ..., fcL, actL, head``: Linear layers with :func:`make_activation` non-linearities.

    Shapes: input (B, in_features) → output (B, out_features).
    """
    layers: dict[str, nn.Module] = {}
    widths = [in_features, *hidden]
    for k, w in enumerate(hidden):
        layers[f"fc{k + 1}"] = nn.Linear(widths[k], w)
        layers[f"act{k + 1}"] = make_activation(activation, w, assignment)
    layers["head"] = nn.Linear(widths[-1], out_features)
    from collections import OrderedDict

    return nn.Sequential(OrderedDict(layers))
