"""A small 1-D convolutional network for sequences (MNIST-1D, methylation profiles)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from coterie.models.base import CoterieModel
from coterie.models.registry import register

#: Non-linearities a 1-D CNN member may use. ``leaky_relu`` has slope 0.1, as the official GAL members
#: (DVERGE repository, ``models/resnet.py``: ``nn.LeakyReLU(0.1)`` when ``leaky_relu=True``).
ACTIVATIONS = ("relu", "leaky_relu")


def make_activation(name: str) -> nn.Module:
    """A fresh non-linearity module: ``relu`` or ``leaky_relu`` (slope 0.1)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.1)
    raise ValueError(f"unknown activation {name!r}; choose from {ACTIVATIONS}")


class CNN1d(CoterieModel):
    """[Conv1d(k)-ReLU-MaxPool(2)] × len(channels) → FC(hidden)-ReLU → FC(C).

    Input (B, L) or (B, in_channels, L). Layers: ``conv{k} relu{k} pool{k}``, then ``fc1 relu_fc head``.

    Args:
        in_channels: input channels (1 for a plain sequence).
        num_classes: output size C (1 for scalar regression).
        input_length: sequence length L.
        channels: output channels per convolution.
        kernel_size: convolution width (odd; 'same' padding).
        hidden: width of the fully connected layer.
        mean, std: input normalisation (scalars).
        activation: ``relu`` or ``leaky_relu`` (slope 0.1; GAL's official members).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_length: int = 40,
        channels: Sequence[int] = (32, 64),
        kernel_size: int = 5,
        hidden: int = 128,
        mean: float = 0.0,
        std: float = 1.0,
        activation: str = "relu",
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self._set_normalization(mean, std, ndim=3)
        c_in, length = in_channels, input_length
        self.n_conv = len(channels)
        for k, c in enumerate(channels, start=1):
            self.add_module(f"conv{k}", nn.Conv1d(c_in, c, kernel_size, padding=kernel_size // 2))
            self.add_module(f"relu{k}", make_activation(activation))
            self.add_module(f"pool{k}", nn.MaxPool1d(2))
            c_in, length = c, length // 2
        if length < 1:
            raise ValueError(f"input_length {input_length} is too short for {len(channels)} pooling stages")
        self.fc1 = nn.Linear(c_in * length, hidden)
        self.relu_fc = make_activation(activation)
        self.head = nn.Linear(hidden, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, C) for input (B, L) or (B, in_channels, L)."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self._forward(self.normalize(x))

    def _forward(self, x: Tensor) -> Tensor:
        h = x
        for k in range(1, self.n_conv + 1):
            h = getattr(self, f"pool{k}")(getattr(self, f"relu{k}")(getattr(self, f"conv{k}")(h)))
        return self.head(self.relu_fc(self.fc1(h.flatten(1))))


@register("cnn1d")
def cnn1d(
    in_channels: int = 1,
    num_classes: int = 10,
    input_length: int = 40,
    channels: Sequence[int] = (32, 64),
    kernel_size: int = 5,
    hidden: int = 128,
    activation: str = "relu",
) -> CNN1d:
    """1-D CNN member; defaults fit MNIST-1D (length 40, 10 classes). ``activation``: relu or leaky_relu."""
    return CNN1d(in_channels, num_classes, input_length, tuple(channels), kernel_size, hidden, activation=activation)
