"""The interface every coterie model shares.

A :class:`CoterieModel` is an ``nn.Module`` whose ``forward(x)`` returns logits (or regression outputs). It takes
inputs in their natural range (images in [0, 1]) and normalises them inside, through the ``input_mean`` /
``input_std`` buffers, so attacks and ε-balls are defined on the natural scale.

Named intermediate activations
------------------------------
PARL, CKA and activity statistics need a model's hidden representations. Every submodule has a dotted name
(``model.named_modules()``); :meth:`CoterieModel.forward_with_features` runs the model once and returns the outputs of
the requested submodules::

    logits, feats = model.forward_with_features(x, ["conv1", "relu1"])

:meth:`CoterieModel.feature_layers` lists the layers in forward order, filtered by kind: ``"weighted"`` (convolution
and linear modules, used by PARL's "first K layers"), ``"activation"`` (ReLU and other non-linearities, used for
sparsity and mean-activation statistics) or ``"all"``. The captured tensors stay in the autograd graph, so input
gradients of hidden layers can be taken from them.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Literal

import torch
from torch import Tensor, nn

LayerKind = Literal["weighted", "activation", "all"]

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Linear)
_ACTIVATION = (nn.ReLU, nn.Tanh, nn.ELU, nn.GELU, nn.Sigmoid, nn.LeakyReLU, nn.SiLU)


class CoterieModel(nn.Module):
    """Base class: normalisation inside the model and named intermediate features.

    Subclasses build their layers in ``__init__`` and implement :meth:`_forward` on normalised inputs.
    """

    input_mean: Tensor
    input_std: Tensor

    def _set_normalization(self, mean: Sequence[float] | float, std: Sequence[float] | float, ndim: int) -> None:
        """Register per-channel normalisation buffers shaped to broadcast over an input of ``ndim`` dimensions."""
        mean_t = torch.as_tensor(mean, dtype=torch.float32).reshape(-1)
        std_t = torch.as_tensor(std, dtype=torch.float32).reshape(-1)
        shape = (1, -1) + (1,) * (ndim - 2) if mean_t.numel() > 1 else (1,) * ndim
        self.register_buffer("input_mean", mean_t.reshape(shape), persistent=True)
        self.register_buffer("input_std", std_t.reshape(shape), persistent=True)

    def normalize(self, x: Tensor) -> Tensor:
        """Map natural-range input to the network's working range: ``(x - mean) / std``."""
        return (x - self.input_mean) / self.input_std

    def forward(self, x: Tensor) -> Tensor:
        """Logits of shape (B, C) for input ``x`` of shape (B, *input_shape) in its natural range."""
        return self._forward(self.normalize(x))

    def _forward(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def feature_layers(self, kind: LayerKind = "all") -> list[str]:
        """Names of the leaf layers of the given kind, in the order the forward pass calls them.

        The order is registration order, which every coterie model keeps equal to forward order.
        """
        names = []
        for name, module in self.named_modules():
            if not name or any(True for _ in module.children()):
                continue
            if kind == "weighted" and not isinstance(module, _WEIGHTED):
                continue
            if kind == "activation" and not isinstance(module, _ACTIVATION):
                continue
            names.append(name)
        return names

    def forward_with_features(self, x: Tensor, names: Sequence[str]) -> tuple[Tensor, dict[str, Tensor]]:
        """Run the model and capture the outputs of the named submodules.

        Args:
            x: input of shape (B, *input_shape).
            names: dotted submodule names (see :meth:`feature_layers`).

        Returns:
            ``(logits, features)`` with logits (B, C) and ``features[name]`` the submodule's output (B, ...).

        Raises:
            KeyError: a name that is not a submodule, listing the valid names.
        """
        return capture_features(self, x, names)


def capture_features(model: nn.Module, x: Tensor, names: Sequence[str]) -> tuple[Tensor, dict[str, Tensor]]:
    """Forward ``model`` on ``x`` and return ``(output, {name: submodule output})`` using forward hooks."""
    modules = dict(model.named_modules())
    missing = [n for n in names if n not in modules or not n]
    if missing:
        valid = [n for n in modules if n]
        raise KeyError(f"unknown layer name(s) {missing}; valid names: {valid}")
    capture = FeatureCapture()
    handles = [capture.attach(modules[name], name) for name in names]
    try:
        out = model(x)
    finally:
        for h in handles:
            h.remove()
    return out, {n: capture.outputs[n] for n in names}


class StopForwardError(Exception):
    """Raised by a :class:`FeatureCapture` with ``stop=True`` to end the forward pass once the output is recorded."""


class FeatureCapture:
    """Forward hooks that record submodule outputs by name.

    A hook can hand its module's output out only by a side effect; that state lives in this object (``outputs``)
    rather than in a closure over the caller's variables. With ``stop=True`` each record raises
    :class:`StopForwardError`, so the caller can skip the rest of the forward pass.
    """

    def __init__(self, stop: bool = False) -> None:
        self.outputs: dict[str, Tensor] = {}
        self.stop = stop

    def attach(self, module: nn.Module, name: str) -> torch.utils.hooks.RemovableHandle:
        """Register the hook on ``module``, recording its output as ``outputs[name]``; returns the handle."""
        return module.register_forward_hook(functools.partial(self._record, name))

    def _record(self, name: str, _module: nn.Module, _inp: object, out: Tensor) -> None:
        self.outputs[name] = out
        if self.stop:
            raise StopForwardError


def xavier_init(module: nn.Module) -> None:
    """Xavier-uniform weights and zero biases for every convolution and linear layer (seed 000 Supplementary)."""
    for m in module.modules():
        if isinstance(m, _WEIGHTED):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
