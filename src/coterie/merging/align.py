"""Permutation alignment by weight matching (Ainsworth, Hayase & Srinivasa, "Git Re-Basin", 2023, Algorithm 1).

Hidden units of a network can be permuted without changing its function: permute a layer's output units (rows of
its weight, its bias, its BatchNorm's parameters and statistics) and the next layer's input units the same way.
Two independently trained networks use different orders, so blending them unit by unit mixes unrelated features.
:func:`align` permutes ``other``'s hidden units to match ``reference``'s: for every permutation (a group of axes
that must move together) it solves a linear assignment maximising Σ ⟨W_ref, P W_other⟩ over all the tensors that
group touches, given the other permutations, and iterates over the groups in random order until no assignment
changes. The aligned model computes exactly the function ``other`` computes.

A :class:`PermutationSpec` maps each state tensor to the permutation acting on each of its axes. Specs exist for
``mlp``, ``lenet5``, ``vgg9``, ``resnet20`` (every residual stage shares one permutation along its residual
stream; the option-B projection shortcut maps one stage's permutation to the next) and ``cnn1d``; others can be
added with :func:`register_spec`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor, nn

from coterie.merging.state import check_compatible


@dataclass
class PermutationSpec:
    """Which permutation acts on which axis of which state tensor.

    Attributes:
        axes: state key -> one entry per axis of the tensor's *view*: a permutation name or ``None``.
        views: state key -> the shape the tensor is viewed as while permuting (e.g. a linear layer after a
            flatten, (out, C·H·W) viewed as (out, C, H·W)); absent keys use the tensor's own shape.
    """

    axes: dict[str, tuple[str | None, ...]]
    views: dict[str, tuple[int, ...]]

    @property
    def perms(self) -> dict[str, list[tuple[str, int]]]:
        """Permutation name -> the (key, axis) pairs it acts on."""
        out: dict[str, list[tuple[str, int]]] = {}
        for key, names in self.axes.items():
            for axis, p in enumerate(names):
                if p is not None:
                    out.setdefault(p, []).append((key, axis))
        return out


class _SpecBuilder:
    def __init__(self, sd: dict[str, Tensor]) -> None:
        self.sd = sd
        self.axes: dict[str, tuple[str | None, ...]] = {}
        self.views: dict[str, tuple[int, ...]] = {}

    def conv_or_linear(self, prefix: str, p_out: str | None, p_in: str | None) -> None:
        w = self.sd[f"{prefix}.weight"]
        self.axes[f"{prefix}.weight"] = (p_out, p_in) + (None,) * (w.dim() - 2)
        if f"{prefix}.bias" in self.sd:
            self.axes[f"{prefix}.bias"] = (p_out,)

    def flatten_linear(self, prefix: str, p_out: str | None, p_in: str, channels: int) -> None:
        """A linear layer reading a flattened (C, ...) map: weight viewed as (out, C, rest)."""
        w = self.sd[f"{prefix}.weight"]
        self.views[f"{prefix}.weight"] = (w.shape[0], channels, w.shape[1] // channels)
        self.axes[f"{prefix}.weight"] = (p_out, p_in, None)
        if f"{prefix}.bias" in self.sd:
            self.axes[f"{prefix}.bias"] = (p_out,)

    def norm(self, prefix: str, p: str) -> None:
        for name in ("weight", "bias", "running_mean", "running_var"):
            if f"{prefix}.{name}" in self.sd:
                self.axes[f"{prefix}.{name}"] = (p,)

    def spec(self) -> PermutationSpec:
        return PermutationSpec(self.axes, self.views)


def _mlp_spec(model: nn.Module) -> PermutationSpec:
    b = _SpecBuilder(model.state_dict())
    prev = None
    for k in range(1, model.depth + 1):
        b.conv_or_linear(f"fc{k}", f"P_fc{k}", prev)
        prev = f"P_fc{k}"
    b.conv_or_linear("head", None, prev)
    return b.spec()


def _lenet5_spec(model: nn.Module) -> PermutationSpec:
    b = _SpecBuilder(model.state_dict())
    b.conv_or_linear("conv1", "P_conv1", None)
    b.conv_or_linear("conv2", "P_conv2", "P_conv1")
    b.conv_or_linear("conv3", "P_conv3", "P_conv2")
    b.flatten_linear("fc1", "P_fc1", "P_conv3", model.conv3.out_channels)
    b.conv_or_linear("fc2", None, "P_fc1")
    return b.spec()


def _vgg9_spec(model: nn.Module) -> PermutationSpec:
    b = _SpecBuilder(model.state_dict())
    prev = None
    for k in range(1, model.n_conv + 1):
        b.conv_or_linear(f"conv{k}", f"P_conv{k}", prev)
        b.norm(f"bn{k}", f"P_conv{k}")
        prev = f"P_conv{k}"
    b.flatten_linear("fc", None, prev, getattr(model, f"conv{model.n_conv}").out_channels)
    return b.spec()


def _cnn1d_spec(model: nn.Module) -> PermutationSpec:
    b = _SpecBuilder(model.state_dict())
    prev = None
    for k in range(1, model.n_conv + 1):
        b.conv_or_linear(f"conv{k}", f"P_conv{k}", prev)
        prev = f"P_conv{k}"
    b.flatten_linear("fc1", "P_fc1", prev, getattr(model, f"conv{model.n_conv}").out_channels)
    b.conv_or_linear("head", None, "P_fc1")
    return b.spec()


def _resnet20_spec(model: nn.Module) -> PermutationSpec:
    b = _SpecBuilder(model.state_dict())
    b.conv_or_linear("conv1", "P_stream1", None)
    b.norm("bn1", "P_stream1")
    for s, stage in enumerate((model.layer1, model.layer2, model.layer3), start=1):
        stream = f"P_stream{s}"
        for i, block in enumerate(stage):
            pre = f"layer{s}.{i}"
            p_in = f"P_stream{s - 1}" if (i == 0 and s > 1) else stream
            inner = f"P_{pre}.inner"
            b.conv_or_linear(f"{pre}.conv1", inner, p_in)
            b.norm(f"{pre}.bn1", inner)
            b.conv_or_linear(f"{pre}.conv2", stream, inner)
            b.norm(f"{pre}.bn2", stream)
            if isinstance(block.shortcut, nn.Sequential):
                b.conv_or_linear(f"{pre}.shortcut.0", stream, p_in)
                b.norm(f"{pre}.shortcut.1", stream)
            elif p_in != stream:  # pragma: no cover - identity shortcut across a width change cannot happen
                raise ValueError(f"{pre}: identity shortcut between different permutations")
    b.conv_or_linear("fc", None, "P_stream3")
    return b.spec()


_SPECS: dict[str, Callable[[nn.Module], PermutationSpec]] = {
    "MLP": _mlp_spec,
    "LeNet5": _lenet5_spec,
    "VGG9": _vgg9_spec,
    "ResNet20": _resnet20_spec,
    "CNN1d": _cnn1d_spec,
}


def register_spec(class_name: str, builder: Callable[[nn.Module], PermutationSpec]) -> None:
    """Teach :func:`align` a new architecture: ``builder(model)`` returns its :class:`PermutationSpec`."""
    _SPECS[class_name] = builder


def spec_for(model: nn.Module) -> PermutationSpec:
    """The permutation spec of ``model``'s architecture.

    Raises:
        NotImplementedError: no spec for this class (lists the supported ones).
    """
    name = type(model).__name__
    if name not in _SPECS:
        raise NotImplementedError(f"no permutation spec for {name}; supported: {sorted(_SPECS)} (see register_spec)")
    return _SPECS[name](model)


def _view(spec: PermutationSpec, key: str, w: Tensor) -> Tensor:
    return w.reshape(spec.views[key]) if key in spec.views else w


def _permuted(
    spec: PermutationSpec, key: str, w: Tensor, perms: dict[str, Tensor], except_axis: int | None = None
) -> Tensor:
    """Tensor ``key`` (in its view shape) with every permutation applied except the one on ``except_axis``."""
    v = _view(spec, key, w)
    for axis, p in enumerate(spec.axes[key]):
        if p is not None and axis != except_axis:
            v = v.index_select(axis, perms[p].to(v.device))
    return v


def weight_matching(
    spec: PermutationSpec,
    reference: dict[str, Tensor],
    other: dict[str, Tensor],
    *,
    max_iter: int = 100,
    seed: int = 0,
    cost_keys: set[str] | None = None,
) -> dict[str, Tensor]:
    """Permutations making ``other`` match ``reference`` (Git Re-Basin weight matching).

    Args:
        spec: the architecture's permutation spec.
        reference, other: state dicts.
        max_iter: passes over all permutations (stops earlier when a pass changes nothing).
        seed: order in which permutations are visited.
        cost_keys: tensors entering the matching cost (default: every tensor of the spec).

    Returns:
        ``{perm name: LongTensor (n,)}`` — unit i of the aligned model is unit ``perm[i]`` of ``other``.
    """
    perm_axes = spec.perms
    sizes = {p: _view(spec, key, reference[key]).shape[axis] for p, ((key, axis), *_) in perm_axes.items()}
    perms = {p: torch.arange(n) for p, n in sizes.items()}
    names = sorted(perm_axes)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(max_iter):
        progress = False
        for j in torch.randperm(len(names), generator=gen).tolist():
            p = names[j]
            n = sizes[p]
            cost = torch.zeros(n, n, dtype=torch.float64)
            for key, axis in perm_axes[p]:
                if cost_keys is not None and key not in cost_keys:
                    continue
                wa = _view(spec, key, reference[key].detach()).movedim(axis, 0).reshape(n, -1)
                wb = _permuted(spec, key, other[key].detach(), perms, except_axis=axis).movedim(axis, 0).reshape(n, -1)
                cost += (wa.double() @ wb.double().T).cpu()
            c = cost.numpy()
            _, col = linear_sum_assignment(c, maximize=True)
            old = float(c[np.arange(n), perms[p].numpy()].sum())
            new = float(c[np.arange(n), col].sum())
            if new > old + 1e-9 * max(1.0, abs(old)):
                progress = True
                perms[p] = torch.as_tensor(col, dtype=torch.long)
        if not progress:
            break
    return perms


def permute_state(spec: PermutationSpec, state: dict[str, Tensor], perms: dict[str, Tensor]) -> dict[str, Tensor]:
    """``state`` with the permutations applied (tensors outside the spec are returned as they are)."""
    out = {}
    for key, w in state.items():
        out[key] = _permuted(spec, key, w, perms).reshape(w.shape).clone() if key in spec.axes else w
    return out


def random_permutations(spec: PermutationSpec, state: dict[str, Tensor], seed: int = 0) -> dict[str, Tensor]:
    """Random permutations for every group of ``spec`` (used to test alignment)."""
    gen = torch.Generator().manual_seed(seed)
    out = {}
    for p, ((key, axis), *_) in sorted(spec.perms.items()):
        out[p] = torch.randperm(_view(spec, key, state[key]).shape[axis], generator=gen)
    return out


def permute(model: nn.Module, perms: dict[str, Tensor]) -> nn.Module:
    """A copy of ``model`` with its hidden units permuted; it computes the same function."""
    out = copy.deepcopy(model)
    out.load_state_dict(permute_state(spec_for(model), model.state_dict(), perms))
    return out


def align(reference: nn.Module, other: nn.Module, *, max_iter: int = 100, seed: int = 0) -> nn.Module:
    """A copy of ``other`` with its hidden units permuted to match ``reference`` (weight matching).

    The result computes the same function as ``other`` (up to float rounding); only the order of hidden units
    changes. The matching cost uses the learned parameters (weights, biases, BatchNorm affine parameters); the
    BatchNorm running statistics follow their units.

    Args:
        reference: the model to match.
        other: the model to permute (not modified).
        max_iter: weight-matching passes.
        seed: order of the coordinate-descent passes.

    Raises:
        ArchitectureMismatchError: different architectures (naming the first mismatching tensor).
        NotImplementedError: an architecture without a permutation spec.
    """
    check_compatible([reference, other])
    spec = spec_for(reference)
    params = {k for k, _ in reference.named_parameters()}
    perms = weight_matching(
        spec, reference.state_dict(), other.state_dict(), max_iter=max_iter, seed=seed, cost_keys=params
    )
    return permute(other, perms)
