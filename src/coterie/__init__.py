"""coterie — neural-network diversity: interacting ensembles, cooperative networks, merging, learned neurons.

Member outputs are logits of shape (N, B, C), member axis first, everywhere.
"""

from coterie import attacks, cooperative, data, ensemble, merging, metrics, models, neurons, objectives, training
from coterie.ensemble import Ensemble
from coterie.objectives import ADP, DVERGE, GAL, PARL, CoLearning, Independent
from coterie.training import Trainer

__version__ = "0.1.0"

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
    "merging",
    "metrics",
    "models",
    "neurons",
    "objectives",
    "training",
]
