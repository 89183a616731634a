"""coterie — neural-network diversity: interacting ensembles, cooperative networks, merging, learned neurons.

Member outputs are logits of shape (N, B, C), member axis first, everywhere.
"""

from coterie import ensemble, models, objectives
from coterie.ensemble import Ensemble
from coterie.objectives import CoLearning, Independent

__version__ = "0.1.0"

__all__ = ["CoLearning", "Ensemble", "Independent", "__version__", "ensemble", "models", "objectives"]
