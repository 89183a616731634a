"""CIFAR ResNet-20 (He et al. 2016, §4.2): 3 stages × 3 basic blocks, 16/32/64 channels.

Down-sampling shortcuts are 1×1 convolutions with BatchNorm (option B) rather than zero padding (option A): the
projection keeps every tensor a plain weight that permutation alignment (``coterie.merging.align``) can permute.
"""

from __future__ import annotations

from torch import nn

from coterie.models.cnn1d import make_activation
from coterie.models.lenet5 import default_stats
from coterie.models.registry import register
from coterie.models.residual import ResidualBlock, ResidualNet, residual_stages, shortcut


class BasicBlock(ResidualBlock):
    """conv-BN-ReLU-conv-BN + shortcut, ReLU. Input (B, c_in, H, W) → (B, c_out, H/stride, W/stride)."""

    def __init__(self, c_in: int, c_out: int, stride: int, activation: str = "relu") -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = make_activation(activation)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = shortcut(
            c_in,
            c_out,
            stride,
            lambda: nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out)),
        )
        self.relu2 = make_activation(activation)


class ResNet20(ResidualNet):
    """ResNet-20 for 32×32 inputs in [0, 1]. ``width`` multiplies the 16/32/64 channel counts; ``activation`` is
    ``relu`` or ``leaky_relu`` (slope 0.1, the official GAL members).

    Layers: ``conv1 bn1 relu1 layer{1,2,3}.{0,1,2}.(conv1 bn1 relu1 conv2 bn2 shortcut relu2) pool fc``.
    """

    def __init__(
        self, in_channels: int = 3, num_classes: int = 10, width: int = 16, blocks: int = 3, activation: str = "relu"
    ) -> None:
        super().__init__()
        mean, std = default_stats(in_channels)
        self._set_normalization(mean, std, ndim=4)
        self.conv1 = nn.Conv2d(in_channels, width, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = make_activation(activation)
        self.layer1, self.layer2, self.layer3 = residual_stages(
            width, (width, 2 * width, 4 * width), blocks, lambda ci, co, st: BasicBlock(ci, co, st, activation)
        )
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * width, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


@register("resnet20")
def resnet20(
    in_channels: int = 3, num_classes: int = 10, width: int = 16, blocks: int = 3, activation: str = "relu"
) -> ResNet20:
    """ResNet-20 member (``blocks=3``; ``blocks=n`` gives ResNet-(6n+2)); ``activation``: relu or leaky_relu."""
    return ResNet20(in_channels, num_classes, width, blocks, activation)
