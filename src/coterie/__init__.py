"""coterie — neural-network diversity: interacting ensembles, cooperative networks, merging, learned neurons.

Member outputs are logits of shape (N, B, C), member axis first, everywhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from coterie import attacks, cooperative, data, ensemble, merging, metrics, models, neurons, objectives, training
from coterie.ensemble import Ensemble
from coterie.objectives import ADP, DVERGE, GAL, PARL, CoLearning, Independent
from coterie.training import Trainer

if TYPE_CHECKING:
    import torch

__version__ = "0.1.0"


def load(run_dir: str | Path, which: str = "best", device: str | torch.device | None = None) -> Any:
    """The trained Ensemble of a ``train`` run directory, in eval mode on ``device`` (default CPU), with its ``best``
    (validation ``best_metric``) or ``final`` weights; for other experiments what their loader documents. Rebuilt
    from ``config.yaml`` without the data. Raises ``coterie.experiments.loading.RunLoadError`` (one line) when
    ``run_dir`` is not a run directory or the weights are missing or damaged."""
    from coterie.experiments.loading import load_run

    return load_run(run_dir, which, device)


__all__ = [
    "ADP",
    "DVERGE",
    "GAL",
    "PARL",
    "CoLearning",
    "Ensemble",
    "Independent",
    "Trainer",
    "__version__",
    "attacks",
    "cooperative",
    "data",
    "ensemble",
    "load",
    "merging",
    "metrics",
    "models",
    "neurons",
    "objectives",
    "training",
]
