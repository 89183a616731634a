"""Cooperative networks (seed 001, Co-DeepNet): the CNN pair, its turn-taking training, the architecture chromosome
and its genetic search, and the baselines it is compared with.

Typical use::

    from coterie.cooperative import CoDeepNet, default_chromosome, fit_pair, TargetScaler, TrainConfig

    model = CoDeepNet(default_chromosome(), input_length=x_train.shape[1], mean=x_train.mean(0), std=x_train.std(0))
    scaler = TargetScaler().fit(ages_train)
    fit_pair(model, x_train, scaler.encode(ages_train), x_val, ages_val, scaler, TrainConfig(epochs=30))
"""

from coterie.cooperative.baselines import (
    BASELINE_GRIDS,
    SKLEARN_BASELINES,
    SingleCNN,
    clock_baseline,
    fit_sklearn_baseline,
    larger_single_cnn,
    regression_metrics,
)
from coterie.cooperative.chromosome import Chromosome, ConvGene, NetGenes, SearchSpace, default_chromosome
from coterie.cooperative.codeepnet import TRANSFER_MODES, CoDeepNet, CoopCNN
from coterie.cooperative.genetic import (
    FitnessTask,
    GAConfig,
    GeneticSearch,
    ProcessPoolEvaluator,
    RayEvaluator,
    SearchFailedError,
    crossover,
    mutate,
    tournament_select,
)
from coterie.cooperative.training import TargetScaler, TrainConfig, fit_pair, fit_single, forward_flops, predict

__all__ = [
    "BASELINE_GRIDS",
    "SKLEARN_BASELINES",
    "TRANSFER_MODES",
    "Chromosome",
    "CoDeepNet",
    "ConvGene",
    "CoopCNN",
    "FitnessTask",
    "GAConfig",
    "GeneticSearch",
    "NetGenes",
    "ProcessPoolEvaluator",
    "RayEvaluator",
    "SearchFailedError",
    "SearchSpace",
    "SingleCNN",
    "TargetScaler",
    "TrainConfig",
    "clock_baseline",
    "crossover",
    "default_chromosome",
    "fit_pair",
    "fit_single",
    "fit_sklearn_baseline",
    "forward_flops",
    "larger_single_cnn",
    "mutate",
    "predict",
    "regression_metrics",
    "tournament_select",
]
