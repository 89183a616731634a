"""Multi-layer perceptron members (MNIST-1D sized by default: 40 → 100 → 100 → 10)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from coterie.models.base import CoterieModel
from coterie.models.registry import register

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "sigmoid": nn.Sigmoid,
    "silu": nn.SiLU,
}


class MLP(CoterieModel):
    """Fully connected network ``in_features → hidden... → num_classes``.

    Layers are named ``fc1, act1, fc2, act2, ..., head``. Inputs of shape (B, in_features) or (B, *, ...) that
    flatten to ``in_features`` are accepted.

    Args:
        in_features: input dimension D.
        num_classes: output dimension C.
        hidden: widths of the hidden layers.
        activation: one of ``relu, tanh, elu, gelu, sigmoid, silu``, or an ``nn.Module`` class.
        mean, std: input normalisation (scalars), applied inside the model.
    """

    def __init__(
        self,
        in_features: int,
        num_classes: int,
        hidden: Sequence[int] = (100, 100),
        activation: str | type[nn.Module] = "relu",
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        super().__init__()
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"unknown activation {activation!r}; choose from {sorted(ACTIVATIONS)}")
            act_cls = ACTIVATIONS[activation]
        else:
            act_cls = activation
        self.in_features = in_features
        self._set_normalization(mean, std, ndim=2)
        widths = [in_features, *hidden]
        for k in range(len(hidden)):
            self.add_module(f"fc{k + 1}", nn.Linear(widths[k], widths[k + 1]))
            self.add_module(f"act{k + 1}", act_cls())
        self.head = nn.Linear(widths[-1], num_classes)
        self.depth = len(hidden)

    def _forward(self, x: Tensor) -> Tensor:
        h = x.reshape(x.shape[0], -1)
        for k in range(1, self.depth + 1):
            h = getattr(self, f"act{k}")(getattr(self, f"fc{k}")(h))
        return self.head(h)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, C) for input (B, D)."""
        return self._forward(self.normalize(x.reshape(x.shape[0], -1)))


@register("mlp")
def mlp(
    in_features: int = 40,
    num_classes: int = 10,
    hidden: Sequence[int] = (100, 100),
    activation: str = "relu",
    mean: float = 0.0,
    std: float = 1.0,
) -> MLP:
    """MLP member; defaults match MNIST-1D (40 inputs, 10 classes, two hidden layers of 100)."""
    return MLP(in_features, num_classes, tuple(hidden), activation, mean, std)
