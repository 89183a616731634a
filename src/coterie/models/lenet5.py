"""LeNet-5 as in seed 000 Table S1 (ReLU activations, Xavier initialisation)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from coterie.models.base import CoterieModel, xavier_init
from coterie.models.registry import register

CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


def default_stats(in_channels: int) -> tuple[Sequence[float], Sequence[float]]:
    """CIFAR channel statistics for 3-channel inputs, (0.5, 0.25) per channel otherwise."""
    if in_channels == 3:
        return CIFAR_MEAN, CIFAR_STD
    return (0.5,) * in_channels, (0.25,) * in_channels


class LeNet5(CoterieModel):
    """Conv(6,5×5)-ReLU-MaxPool-Conv(16,5×5)-ReLU-MaxPool-Conv(120)-ReLU-FC(84)-ReLU-FC(C).

    Input (B, in_channels, S, S) in [0, 1]; for S = 32 the third convolution is 5×5 → 1×1 as in Table S1. For
    other sizes its kernel covers the whole remaining map (e.g. 4×4 for 28×28 inputs).
    Layers: ``conv1 relu1 pool1 conv2 relu2 pool2 conv3 relu3 fc1 relu4 fc2``.
    """

    def __init__(
        self,
        in_channels: int = 3,
        num_classes: int = 10,
        input_size: int = 32,
        mean: Sequence[float] | None = None,
        std: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        d_mean, d_std = default_stats(in_channels)
        self._set_normalization(mean or d_mean, std or d_std, ndim=4)
        spatial = ((input_size - 4) // 2 - 4) // 2
        if spatial < 1:
            raise ValueError(f"LeNet-5 needs inputs of at least 16×16, got {input_size}")
        self.conv1 = nn.Conv2d(in_channels, 6, 5)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.MaxPool2d(2, 2)
        self.conv3 = nn.Conv2d(16, 120, spatial)
        self.relu3 = nn.ReLU()
        self.fc1 = nn.Linear(120, 84)
        self.relu4 = nn.ReLU()
        self.fc2 = nn.Linear(84, num_classes)
        xavier_init(self)

    def _forward(self, x: Tensor) -> Tensor:
        h = self.pool1(self.relu1(self.conv1(x)))
        h = self.pool2(self.relu2(self.conv2(h)))
        h = self.relu3(self.conv3(h)).flatten(1)
        return self.fc2(self.relu4(self.fc1(h)))


@register("lenet5")
def lenet5(in_channels: int = 3, num_classes: int = 10, input_size: int = 32) -> LeNet5:
    """LeNet-5 member (seed 000 Table S1)."""
    return LeNet5(in_channels, num_classes, input_size)
