"""VGG-9 as in seed 000 Table S2: eight 3×3 convolutions with BatchNorm and ReLU, one fully connected layer."""

from __future__ import annotations

from torch import Tensor, nn

from coterie.models.base import CoterieModel, xavier_init
from coterie.models.lenet5 import default_stats
from coterie.models.registry import register

# (out_channels, pool_after) per convolution, Table S2.
VGG9_PLAN: tuple[tuple[int, bool], ...] = (
    (64, True),
    (128, True),
    (256, False),
    (256, True),
    (512, False),
    (512, True),
    (512, False),
    (512, True),
)


class VGG9(CoterieModel):
    """Conv-BN-ReLU blocks per :data:`VGG9_PLAN`, then FC(512 → C). Input (B, in_channels, 32, 32) in [0, 1].

    ``width`` scales every channel count (1.0 = Table S2; smaller values give CPU-sized members).
    Layers: ``conv{k} bn{k} relu{k} [pool{k}]`` for k = 1..8, then ``fc``.
    """

    def __init__(self, in_channels: int = 3, num_classes: int = 100, width: float = 1.0, input_size: int = 32) -> None:
        super().__init__()
        mean, std = default_stats(in_channels)
        self._set_normalization(mean, std, ndim=4)
        c_in = in_channels
        size = input_size
        self.n_conv = len(VGG9_PLAN)
        for k, (c, pool) in enumerate(VGG9_PLAN, start=1):
            c_out = max(1, round(c * width))
            self.add_module(f"conv{k}", nn.Conv2d(c_in, c_out, 3, padding=1))
            self.add_module(f"bn{k}", nn.BatchNorm2d(c_out))
            self.add_module(f"relu{k}", nn.ReLU())
            if pool:
                self.add_module(f"pool{k}", nn.MaxPool2d(2, 2))
                size //= 2
            c_in = c_out
        if size < 1:
            raise ValueError(f"VGG-9 needs inputs of at least 32×32, got {input_size}")
        self.fc = nn.Linear(c_in * size * size, num_classes)
        xavier_init(self)

    def _forward(self, x: Tensor) -> Tensor:
        h = x
        for k, (_, pool) in enumerate(VGG9_PLAN, start=1):
            h = getattr(self, f"relu{k}")(getattr(self, f"bn{k}")(getattr(self, f"conv{k}")(h)))
            if pool:
                h = getattr(self, f"pool{k}")(h)
        return self.fc(h.flatten(1))


@register("vgg9")
def vgg9(in_channels: int = 3, num_classes: int = 100, width: float = 1.0, input_size: int = 32) -> VGG9:
    """VGG-9 member (seed 000 Table S2)."""
    return VGG9(in_channels, num_classes, width, input_size)
