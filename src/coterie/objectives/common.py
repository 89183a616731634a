"""Helpers shared by the diversity objectives (PARL, GAL, ADP, DVERGE) and the robustness experiment.

* member access: :func:`ensemble_members`;
* layer selection: :func:`hidden_layers`, :func:`resolve_layers` (the first K hidden convolution / linear layers
  or explicit names) and :func:`activation_of` (the non-linearity that follows a layer, for PARL's
  ``features="activation"`` reading);
* maths on stacked member quantities: :func:`unit_rows` and :func:`shared_term_member_losses` (splitting a joint
  term into per-member losses whose sum is the term and whose gradients are exact).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Literal

import torch
from torch import Tensor, nn

Features = Literal["activation", "preactivation"]
FEATURES: tuple[str, ...] = ("activation", "preactivation")

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_ACTIVATION = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.ELU, nn.GELU, nn.Sigmoid, nn.SiLU)


def ensemble_members(ensemble: nn.Module) -> list[nn.Module]:
    """The member networks of an :class:`~coterie.Ensemble` (its ``members``), or ``[module]`` for a single model."""
    members = getattr(ensemble, "members", None)
    if isinstance(members, nn.ModuleList):
        return list(members)
    return [ensemble]


def _leaves(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """Leaf submodules in registration order (= forward order for every coterie model)."""
    return [(n, m) for n, m in model.named_modules() if n and not any(True for _ in m.children())]


def _weighted_names(model: nn.Module) -> list[str]:
    if hasattr(model, "feature_layers"):
        return list(model.feature_layers("weighted"))
    return [n for n, m in model.named_modules() if n and isinstance(m, _WEIGHTED)]


def _parent(name: str) -> str:
    return name.rpartition(".")[0]


def activation_of(model: nn.Module, layer: str) -> str | None:
    """The non-linearity applied to ``layer``'s output: the first activation leaf after it in forward order.

    Normalisation and pooling leaves in between are passed over, and so are weighted leaves nested deeper than
    ``layer`` (a residual block's projection shortcut), whose output joins the block's main path before its final
    non-linearity. Returns None when another main-path convolution / linear layer comes first (e.g. the output layer).
    """
    leaves = _leaves(model)
    names = [n for n, _ in leaves]
    if layer not in names:
        return None
    if hasattr(model, "feature_layers"):
        acts = set(model.feature_layers("activation"))
    else:
        acts = {n for n, m in leaves if isinstance(m, _ACTIVATION)}
    own = _parent(layer)
    for name, module in leaves[names.index(layer) + 1 :]:
        if name in acts:
            return name
        if isinstance(module, _WEIGHTED):
            other = _parent(name)
            if other == own or own.startswith(other + ".") or other == "":
                return None
    return None


def hidden_layers(model: nn.Module, features: Features = "preactivation") -> list[str]:
    """The model's hidden convolution / linear layers in forward order (the output layer excluded).

    With ``features="activation"`` only layers followed by their own non-linearity are kept, and a layer whose
    non-linearity another listed layer already owns (a projection shortcut, which joins the block's main path) is
    dropped: ResNet-20 then has 19 hidden layers, its 19 main-path convolutions.
    """
    names = _weighted_names(model)[:-1]
    if features == "preactivation":
        return names
    if features != "activation":
        raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
    kept, seen = [], set()
    for n in names:
        act = activation_of(model, n)
        if act is not None and act not in seen:
            kept.append(n)
            seen.add(act)
    return kept


def resolve_layers(model: nn.Module, layers: int | Sequence[str], features: Features = "preactivation") -> list[str]:
    """The layer names PARL (or DVERGE) uses on ``model``.

    Args:
        model: a member network.
        layers: K (the first K hidden convolution / linear layers) or explicit dotted module names.
        features: which hidden layers count (see :func:`hidden_layers`); with ``activation`` every named layer must
            be followed by a non-linearity.

    Raises:
        ValueError: K < 1, K larger than the number of hidden layers (the message gives the count and names), or a
            named layer without a non-linearity under ``features="activation"``.
        KeyError: a name that is not a submodule of ``model`` (the message lists the valid names).
    """
    available = hidden_layers(model, features)
    if isinstance(layers, int):
        if layers < 1:
            raise ValueError(f"PARL needs at least one layer, got K={layers}")
        if layers > len(available):
            raise ValueError(
                f"K={layers} exceeds the model's {len(available)} hidden convolution/linear layers: {available}"
            )
        return available[:layers]
    names = list(layers)
    if not names:
        raise ValueError("PARL needs at least one layer name")
    modules = dict(model.named_modules())
    missing = [n for n in names if not n or n not in modules]
    if missing:
        raise KeyError(f"unknown layer name(s) {missing}; valid names: {[n for n in modules if n]}")
    if features == "activation":
        bare = [n for n in names if activation_of(model, n) is None]
        if bare:
            raise ValueError(
                f"layer(s) {bare} have no non-linearity of their own; with features='activation' choose among "
                f"{available} or use features='preactivation'"
            )
    return names


def capture_names(model: nn.Module, layers: Sequence[str], features: Features) -> list[str]:
    """The submodules whose outputs represent ``layers``: the layers themselves, or their non-linearities."""
    if features == "preactivation":
        return list(layers)
    out = []
    for n in layers:
        act = activation_of(model, n)
        if act is None:
            raise ValueError(f"layer {n!r} has no non-linearity of its own (features='activation')")
        out.append(act)
    return out


def unit_rows(g: Tensor, eps: float = 1e-12) -> Tensor:
    """Normalise the last dimension to unit L2 norm (zero vectors stay zero)."""
    return g / g.norm(dim=-1, keepdim=True).clamp_min(eps)


def shared_term_member_losses(term: Callable[[Tensor], Tensor], z: Tensor) -> Tensor:
    """Split a joint scalar term ``term(z)`` of stacked member quantities z (N, ...) into per-member losses (N,).

    Member i's share is ``term(z with rows ≠ i detached) − (1 − 1/N) · sg term(z)``: the shares sum to the value of
    the term, and the gradient reaching member i is ∂term/∂θ_i whether or not the other members update.
    """
    n = z.shape[0]
    full = term(z).detach()
    shares = []
    for i in range(n):
        mask = torch.zeros((n,) + (1,) * (z.dim() - 1), dtype=torch.bool, device=z.device)
        mask[i] = True
        shares.append(term(torch.where(mask, z, z.detach())))
    return torch.stack(shares) - (1.0 - 1.0 / n) * full
