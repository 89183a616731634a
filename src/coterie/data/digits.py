"""scikit-learn's bundled handwritten digits as 1×8×8 images in [0, 1] (1797 samples, 10 classes)."""

from __future__ import annotations

import torch

from coterie.data.dataset import TensorData


def load_digits() -> TensorData:
    """x (1797, 1, 8, 8) float32 in [0, 1] (pixel values / 16), y (1797,) int64."""
    from sklearn.datasets import load_digits as sk_load

    d = sk_load()
    x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(d.target, dtype=torch.int64)
    return TensorData(x, y, 10, "digits")
