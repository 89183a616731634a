"""What the 1-D and 2-D ResNets share: the basic block's forward pass and shortcut rule, the stage layout rule and
the network's forward pass (stem, three stages, pooling, linear head).

Both :class:`~coterie.models.resnet20.BasicBlock` (2-D) and :class:`~coterie.models.resnet1d.BasicBlock1d` (1-D)
are conv-BN-act-conv-BN + shortcut, act; only their layer types differ, so each builds its own layers (same names,
same order, hence the same state-dict keys and initialisation) and inherits the computation from here; likewise the
networks (:class:`ResidualNet`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from torch import Tensor, nn

from coterie.models.base import CoterieModel


def residual_stages(
    c_in: int, widths: Sequence[int], blocks: int, make_block: Callable[[int, int, int], nn.Module]
) -> list[nn.Sequential]:
    """One stage of ``blocks`` blocks per width; ``make_block(c_in, c_out, stride)``. A stage's first block takes the
    previous width and, after the first stage, halves the resolution (stride 2); the others keep both."""
    stages, c = [], c_in
    for s, c_out in enumerate(widths):
        stride = 2 if s > 0 else 1
        stages.append(
            nn.Sequential(*(make_block(c if b == 0 else c_out, c_out, stride if b == 0 else 1) for b in range(blocks)))
        )
        c = c_out
    return stages


def shortcut(c_in: int, c_out: int, stride: int, project: Callable[[], nn.Module]) -> nn.Module:
    """The block's shortcut: ``project()`` (a 1×1 projection) when the shape changes, else the identity."""
    return project() if stride != 1 or c_in != c_out else nn.Identity()


class ResidualBlock(nn.Module):
    """``relu2(bn2(conv2(relu1(bn1(conv1(x))))) + shortcut(x))``; subclasses set the seven layers."""

    conv1: nn.Module
    bn1: nn.Module
    relu1: nn.Module
    conv2: nn.Module
    bn2: nn.Module
    shortcut: nn.Module
    relu2: nn.Module

    def forward(self, x: Tensor) -> Tensor:
        """(B, c_in, *S) → (B, c_out, *S / stride)."""
        h = self.relu1(self.bn1(self.conv1(x)))
        h = self.bn2(self.conv2(h))
        return self.relu2(h + self.shortcut(x))


class ResidualNet(CoterieModel):
    """Stem ``conv1 bn1 relu1``, stages ``layer1..3``, global ``pool`` and linear ``fc``; subclasses set the layers.
    Normalised input (B, c, *S) → logits (B, C)."""

    conv1: nn.Module
    bn1: nn.Module
    relu1: nn.Module
    layer1: nn.Module
    layer2: nn.Module
    layer3: nn.Module
    pool: nn.Module
    fc: nn.Module

    def _forward(self, x: Tensor) -> Tensor:
        h = self.relu1(self.bn1(self.conv1(x)))
        h = self.layer3(self.layer2(self.layer1(h)))
        return self.fc(self.pool(h).flatten(1))
