"""In-memory labelled datasets and seeded train / validation / test splits."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass
class TensorData:
    """A labelled dataset held in memory.

    Attributes:
        x: inputs (M, *input_shape), float32, in their natural range.
        y: labels (M,), int64 (classification) or targets (M, D) (regression).
        num_classes: number of classes C (0 for regression).
        name: dataset name.
    """

    x: Tensor
    y: Tensor
    num_classes: int = 0
    name: str = ""

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0]:
            raise ValueError(f"x has {self.x.shape[0]} samples but y has {self.y.shape[0]}")

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def subset(self, idx: Tensor) -> TensorData:
        """The samples at ``idx``."""
        return TensorData(self.x[idx], self.y[idx], self.num_classes, self.name)

    def tensors(self) -> tuple[Tensor, Tensor]:
        """``(x, y)``."""
        return self.x, self.y


@dataclass
class Splits:
    """Disjoint train / validation / test parts of one dataset. Model selection uses ``val``, never ``test``."""

    train: TensorData
    val: TensorData
    test: TensorData

    @property
    def num_classes(self) -> int:
        return self.train.num_classes

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.train.input_shape


def split_indices(n: int, val_fraction: float, test_fraction: float, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """A seeded random partition of ``range(n)`` into train / val / test index tensors."""
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"fractions must be in [0, 1) with sum < 1, got val={val_fraction}, test={test_fraction}")
    g = torch.Generator().manual_seed(seed)
    perm = torch.randperm(n, generator=g)
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    return perm[n_test + n_val :], perm[n_test : n_test + n_val], perm[:n_test]


def random_splits(data: TensorData, val_fraction: float = 0.1, test_fraction: float = 0.2, seed: int = 0) -> Splits:
    """Split ``data`` at random (seeded) into disjoint train / validation / test parts."""
    tr, va, te = split_indices(len(data), val_fraction, test_fraction, seed)
    return Splits(data.subset(tr), data.subset(va), data.subset(te))
