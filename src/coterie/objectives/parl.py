"""PARL, the Pairwise Adversarially Robust Loss, seed 002 eq. (1).

For member i and hidden layer k let ``g_i^k(x) = ∇_x Σ_f F_k(x)_f`` (the input gradient of the sum of the layer's
output features, one vector per sample). Then

    G_ij(x)   = Σ_k cos(g_i^k(x), g_j^k(x))                        (sum over the first K hidden layers)
    R(M_i, M_j) = mean_x G_ij(x)
    PARL      = γ1 Σ_i CE_i + γ2 Σ_{i<j} R(M_i, M_j)

Implementation (the paper, not the official notebook):

* "The output features of the k-th hidden layer" (§4.1) is read as the layer's *activation*: the output of the
  non-linearity that follows the k-th hidden convolution / linear layer (``features="activation"``, the default;
  :func:`coterie.objectives.common.activation_of` finds it, passing over BatchNorm and pooling). Reason: the
  output of a raw convolution is linear in x, so ∇_x Σ_f F_1(x)_f does not depend on x at all and the first
  layer's term constrains only the weights; after the non-linearity every layer's gradient depends on the input,
  which is what diverse decision boundaries need. ``features="preactivation"`` keeps the other reading (the
  convolution / linear outputs themselves). The hidden layers are the model's convolution / linear modules in
  forward order (:meth:`CoterieModel.feature_layers` with ``kind="weighted"``), the final (output) layer excluded;
  under ``activation`` a projection shortcut, which shares its block's final non-linearity, is not a layer of its
  own (ResNet-20: 19 hidden layers). ``layers=K`` takes the first K of them ("the first seven convolution
  layers", §5.1); a list of names takes exactly those.
* Input gradients are computed once per member and layer and reused for every pair: one ``autograd.grad`` call per
  layer serves all members (each member sees its own leaf copy of x), so the number of gradient computations is
  K, each as wide as the ensemble — linear in N. The pairwise cosines are then one (N × N) matrix product of
  unit-normalised gradients. ``create_graph=True`` makes the penalty differentiable in the weights (double
  back-propagation).
* Because samples are independent, ``∇_x Σ_b Σ_f F_k(x_b)_f`` gives every sample's own gradient in one pass.
  With BatchNorm in training mode the batch statistics couple the samples, and the gradient then also carries the
  (small) cross-sample terms through the batch mean and variance — as any batched implementation of eq. (1) does.
  Put the members in eval mode to obtain the exact per-sample quantity (e.g. for analysis).
* Per-member losses: the Trainer sums member losses. Member i's share is
  ``γ1 CE_i + γ2 Σ_{j≠i} (cos(u_i, sg u_j) − ½ sg cos(u_i, u_j))`` (``sg`` = stop-gradient): the shares sum to
  exactly eq. (1), and the gradient reaching member i is exactly ∂PARL/∂θ_i even when some members are frozen.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from coterie.models.base import capture_features
from coterie.objectives.base import Objective, ObjectiveOutput, member_cross_entropy, register
from coterie.objectives.common import (
    FEATURES,
    Features,
    capture_names,
    ensemble_members,
    hidden_layers,
    resolve_layers,
    shared_term_member_losses,
    unit_rows,
)

# Re-exported for callers that imported the helpers from here before they moved to ``common``.
__all__ = [
    "PARL",
    "ensemble_members",
    "hidden_layers",
    "member_input_gradients",
    "pairwise_similarity",
    "resolve_layers",
    "shared_term_member_losses",
    "similarity_from_gradients",
    "unit_rows",
]


def member_input_gradients(
    ensemble: nn.Module, x: Tensor, layers: Sequence[str], create_graph: bool = False
) -> tuple[Tensor, Tensor]:
    """Member logits and the input gradients of every member's hidden layers.

    Args:
        ensemble: an Ensemble (or a single model, N = 1).
        x: input batch (B, *input_shape).
        layers: K layer names (present in every member).
        create_graph: keep the graph of the gradients (needed to train on them).

    Returns:
        ``(logits, grads)``: logits (N, B, C) and grads (N, K, B, D) with D = prod(input_shape) and
        ``grads[i, k, b] = ∇_x Σ_f F_k^{(i)}(x)_f`` at sample b.
    """
    members = ensemble_members(ensemble)
    xs = [x.detach().clone().requires_grad_(True) for _ in members]
    logits, feats = [], []
    for m, xi in zip(members, xs):
        out, f = capture_features(m, xi, layers)
        logits.append(out)
        feats.append(f)
    per_layer = []
    for name in layers:
        total = sum(f[name].sum() for f in feats)
        g = torch.autograd.grad(total, xs, create_graph=create_graph, retain_graph=True)
        per_layer.append(torch.stack([gi.flatten(1) for gi in g]))  # (N, B, D)
    return torch.stack(logits), torch.stack(per_layer, dim=1)


def similarity_from_gradients(grads: Tensor) -> Tensor:
    """``R`` for all pairs from input gradients (N, K, B, D): S[i, j] = mean_b Σ_k cos(g_i^k(b), g_j^k(b)), (N, N)."""
    n, _, b, _ = grads.shape
    u = unit_rows(grads).reshape(n, -1)
    return u @ u.T / b


def pairwise_similarity(
    ensemble: nn.Module, x: Tensor, layers: int | Sequence[str], features: Features = "activation"
) -> Tensor:
    """The PARL similarity matrix R(M_i, M_j) on a batch, shape (N, N) (diagonal = K, the number of layers).

    Args:
        ensemble: an Ensemble of N members (or one model).
        x: inputs (B, *input_shape).
        layers: K (first K hidden convolution/linear layers) or layer names.
        features: ``activation`` (after each layer's non-linearity, PARL's default) or ``preactivation``.
    """
    first = ensemble_members(ensemble)[0]
    names = capture_names(first, resolve_layers(first, layers, features), features)
    with torch.enable_grad():
        _, grads = member_input_gradients(ensemble, x, names, create_graph=False)
    return similarity_from_gradients(grads).detach()


@register("parl")
class PARL(Objective):
    """Seed 002 eq. (1): ``γ1 Σ_i CE_i + γ2 Σ_{i<j} R(M_i, M_j)`` over the first K hidden layers.

    Args:
        gamma1: weight γ1 of the cross-entropy sum (paper: 1.0).
        gamma2: weight γ2 of the pairwise similarity penalty (paper: 0.5).
        layers: K, the number of leading hidden convolution/linear layers (paper: 7 convolution layers of
            ResNet-20), or explicit layer names.
        features: ``activation`` (default: each layer's output after its non-linearity) or ``preactivation`` (the
            convolution / linear output itself); see the module docstring for the choice.

    Returns per-member losses (N,) and terms ``ce`` (N,), ``similarity`` (mean off-diagonal R, scalar) and
    ``penalty`` (Σ_{i<j} R, scalar).
    """

    def __init__(
        self,
        gamma1: float = 1.0,
        gamma2: float = 0.5,
        layers: int | Sequence[str] = 7,
        features: Features = "activation",
    ) -> None:
        if features not in FEATURES:
            raise ValueError(f"features must be one of {FEATURES}, got {features!r}")
        if not isinstance(layers, int):
            layers = list(layers)
        elif layers < 1:
            raise ValueError(f"PARL needs at least one layer, got K={layers}")
        self.gamma1 = float(gamma1)
        self.gamma2 = float(gamma2)
        self.layers = layers
        self.features: Features = features
        self._names: list[str] | None = None
        self._capture: list[str] | None = None

    def config(self) -> dict[str, Any]:
        return {"gamma1": self.gamma1, "gamma2": self.gamma2, "layers": self.layers, "features": self.features}

    def bind(self, ensemble: nn.Module) -> list[str]:
        """Resolve and validate the layers on ``ensemble`` (call before training to fail early); returns names."""
        first = ensemble_members(ensemble)[0]
        self._names = resolve_layers(first, self.layers, self.features)
        self._capture = capture_names(first, self._names, self.features)
        return self._names

    @property
    def feature_modules(self) -> list[str] | None:
        """The submodules whose outputs are differentiated (the layers' non-linearities under ``activation``);
        None before :meth:`bind`."""
        return None if self._capture is None else list(self._capture)

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        if self._capture is None:
            self.bind(ensemble)
        names = self._capture
        assert names is not None
        if len(ensemble_members(ensemble)) == 1 or self.gamma2 == 0.0:
            logits = ensemble(x)
            logits = logits if logits.dim() == 3 else logits.unsqueeze(0)
            ce = member_cross_entropy(logits, y)
            zero = torch.zeros((), device=x.device)
            return ObjectiveOutput(
                self.gamma1 * ce, {"ce": ce.detach(), "similarity": zero, "penalty": zero}, logits.detach()
            )
        logits, grads = member_input_gradients(ensemble, x, names, create_graph=True)
        ce = member_cross_entropy(logits, y)
        n, _, b, _ = grads.shape
        u = unit_rows(grads).reshape(n, -1)
        s_live = u @ u.detach().T / b  # S[i, j] with member j held constant
        s_const = s_live.detach()
        off = ~torch.eye(n, dtype=torch.bool, device=x.device)
        pair = ((s_live - 0.5 * s_const) * off).sum(1)  # (N,), sums to Σ_{i<j} R_ij
        penalty = s_const[off].sum() / 2
        return ObjectiveOutput(
            losses=self.gamma1 * ce + self.gamma2 * pair,
            terms={"ce": ce.detach(), "similarity": s_const[off].mean(), "penalty": penalty},
            logits=logits.detach(),
        )
