"""Member architectures and their registry: ``create(name, **kwargs)``, ``names()``.

Every model takes inputs in their natural range, normalises inside, returns logits from ``forward(x)`` and exposes
named intermediate activations through ``forward_with_features`` (see :mod:`coterie.models.base`).
"""

from coterie.models import cnn1d, hnn, lenet5, mlp, resnet1d, resnet20, vgg9  # noqa: F401  (registration side effects)
from coterie.models.base import CoterieModel, capture_features
from coterie.models.diverse_mlp import DiverseMLP
from coterie.models.registry import MODELS, create, get, names, register

__all__ = ["MODELS", "CoterieModel", "DiverseMLP", "capture_features", "create", "get", "names", "register"]
