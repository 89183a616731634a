"""A residual 1-D CNN for sequences (MNIST-1D): deep enough that "the first K convolution layers" is a choice.

Seed 002 enforces PARL's diversity on the first 7 of ResNet-20's 19 convolutions and ablates K (Table 2). The
small :class:`~coterie.models.cnn1d.CNN1d` has only three convolutions, so K = 3 already covers all of them. This
model is ResNet-20's layout on 1-D signals: a stem convolution, then three stages of basic blocks
(conv-BN-act-conv-BN + shortcut, act), global average pooling and a linear head. With the default two blocks per
stage it has 13 main-path convolutions (``blocks=3``: 19, ResNet-20's count); down-sampling blocks use a 1×1
projection shortcut with BatchNorm (as :mod:`coterie.models.resnet20`).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from coterie.models.cnn1d import make_activation
from coterie.models.registry import register
from coterie.models.residual import ResidualBlock, ResidualNet, residual_stages, shortcut


def _norm(channels: int, batchnorm: bool) -> nn.Module:
    return nn.BatchNorm1d(channels) if batchnorm else nn.Identity()


class BasicBlock1d(ResidualBlock):
    """conv-BN-act-conv-BN + shortcut, act. Input (B, c_in, L) → (B, c_out, ceil(L / stride)).

    Layers: ``conv1 bn1 relu1 conv2 bn2 shortcut relu2`` (``relu*`` are ``activation`` modules).
    """

    def __init__(self, c_in: int, c_out: int, stride: int, kernel_size: int, activation: str, batchnorm: bool) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, stride, pad, bias=not batchnorm)
        self.bn1 = _norm(c_out, batchnorm)
        self.relu1 = make_activation(activation)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, 1, pad, bias=not batchnorm)
        self.bn2 = _norm(c_out, batchnorm)
        self.shortcut = shortcut(
            c_in,
            c_out,
            stride,
            lambda: nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride, bias=not batchnorm), _norm(c_out, batchnorm)),
        )
        self.relu2 = make_activation(activation)


class ResNet1d(ResidualNet):
    """Residual 1-D CNN. Input (B, L) or (B, in_channels, L); logits (B, C).

    Layers: ``conv1 bn1 relu1 layer{1,2,3}.{b}.(conv1 bn1 relu1 conv2 bn2 shortcut relu2) pool fc``.

    Args:
        in_channels: input channels (1 for a plain sequence).
        num_classes: output size C.
        input_length: sequence length L (only checked: stages 2 and 3 halve it).
        widths: channels of the stem / stage 1, stage 2 and stage 3.
        blocks: basic blocks per stage (main-path convolutions: 1 + 6 · blocks).
        kernel_size: convolution width (odd; 'same' padding).
        activation: ``relu`` or ``leaky_relu`` (slope 0.1).
        batchnorm: BatchNorm after every convolution (off: identity, biases on).
        mean, std: input normalisation (scalars).
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 10,
        input_length: int = 40,
        widths: Sequence[int] = (16, 32, 64),
        blocks: int = 2,
        kernel_size: int = 5,
        activation: str = "relu",
        batchnorm: bool = True,
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        super().__init__()
        if len(widths) != 3 or blocks < 1:
            raise ValueError(f"ResNet1d needs 3 stage widths and blocks >= 1, got widths={widths}, blocks={blocks}")
        if input_length < 4:
            raise ValueError(f"input_length {input_length} is too short for two stride-2 stages")
        self.in_channels = in_channels
        self._set_normalization(mean, std, ndim=3)
        self.conv1 = nn.Conv1d(in_channels, widths[0], kernel_size, 1, kernel_size // 2, bias=not batchnorm)
        self.bn1 = _norm(widths[0], batchnorm)
        self.relu1 = make_activation(activation)
        self.layer1, self.layer2, self.layer3 = residual_stages(
            widths[0], widths, blocks, lambda ci, co, st: BasicBlock1d(ci, co, st, kernel_size, activation, batchnorm)
        )
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc = nn.Linear(widths[-1], num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, C) for input (B, L) or (B, in_channels, L)."""
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return self._forward(self.normalize(x))


@register("resnet1d")
def resnet1d(
    in_channels: int = 1,
    num_classes: int = 10,
    input_length: int = 40,
    widths: Sequence[int] = (16, 32, 64),
    blocks: int = 2,
    kernel_size: int = 5,
    activation: str = "relu",
    batchnorm: bool = True,
) -> ResNet1d:
    """Residual 1-D CNN member (13 convolutions by default); defaults fit MNIST-1D (length 40, 10 classes)."""
    return ResNet1d(in_channels, num_classes, input_length, tuple(widths), blocks, kernel_size, activation, batchnorm)
