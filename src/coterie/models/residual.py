"""The basic residual block's forward pass and shortcut rule, shared by the 1-D and 2-D ResNets.

Both :class:`~coterie.models.resnet20.BasicBlock` (2-D) and :class:`~coterie.models.resnet1d.BasicBlock1d` (1-D)
are conv-BN-act-conv-BN + shortcut, act; only their layer types differ, so each builds its own layers (same names,
same order, hence the same state-dict keys and initialisation) and inherits the computation from here.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn


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
