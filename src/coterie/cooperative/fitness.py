"""The genetic search's fitness (seed 001, issue 22 point 6): validation MAE of a network built from a chromosome and
trained for a short budget, averaged over training seeds, plus an optional cost term. Picklable, so worker processes
and Ray tasks can run it (:mod:`coterie.cooperative.genetic`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from coterie.cooperative.chromosome import Chromosome

log = logging.getLogger(__name__)


@dataclass
class FitnessTask:
    """Everything a fitness evaluation needs, picklable for worker processes.

    Fitness = validation MAE in years of a :class:`~coterie.cooperative.CoDeepNet` built from the chromosome and
    trained for ``train.epochs`` epochs on the training split (early stopping on the same validation split, which is
    what the GA selects on; the test split is not here).

    Attributes:
        x_train, y_train: training inputs (n, L) and standardised targets (n,).
        x_val, ages_val: validation inputs (m, L) and ages in years (m,).
        scaler: the fitted :class:`~coterie.cooperative.training.TargetScaler`.
        mean, std: per-CpG input normalisation (L,) from the training split.
        train: the short training budget (:class:`~coterie.cooperative.training.TrainConfig`).
        transfer, prediction, dropout: fixed model options.
        seed: base seed, combined with the chromosome key.
        torch_threads: intra-op threads used by each evaluation.
        device: where each evaluation trains (``"cpu"``, ``"cuda"``, ...).
        n_seeds: training seeds per evaluation; the fitness is their mean validation MAE (seed k adds ``k · 7919``
            to the first seed, so ``n_seeds=1`` is the single run of before).
        cost, cost_weight: fitness += ``cost_weight × cost_term(cost, …)`` (:mod:`coterie.cooperative.pareto`).
        model: ``pair`` (the Co-DeepNet pair) or ``single``: the single larger CNN of the chromosome
            (:func:`~coterie.cooperative.baselines.larger_single_cnn`: its larger network widened to ≥
            ``single_ratio`` × the pair's parameters) trained with the chromosome's learning rate (its transmission
            rate is unused) — the single CNN searched by the same GA.
        failures: messages of the evaluations that failed in this process (``"<chromosome>: <error>"``), which
            :class:`~coterie.cooperative.genetic.GeneticSearch` quotes when every architecture failed; evaluations in
            worker processes fill their own copies.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    ages_val: np.ndarray
    scaler: Any
    mean: np.ndarray
    std: np.ndarray
    train: Any
    transfer: str = "features"
    prediction: str = "mean"
    dropout: float = 0.0
    seed: int = 0
    torch_threads: int = 1
    device: str = "cpu"
    n_seeds: int = 1
    cost: str = "none"
    cost_weight: float = 0.0
    model: str = "pair"
    single_ratio: float = 1.5
    failures: list[str] = field(default_factory=list, repr=False, compare=False)

    def build(self, chromosome: Chromosome) -> Any:
        """The network the fitness trains: the pair, or (``model="single"``) the chromosome's single larger CNN."""
        import torch

        from coterie.cooperative.baselines import larger_single_cnn
        from coterie.cooperative.codeepnet import CoDeepNet

        length = self.x_train.shape[1]

        def pair() -> CoDeepNet:
            return CoDeepNet(
                chromosome,
                length,
                self.transfer,
                self.prediction,  # type: ignore[arg-type]
                self.dropout,
                self.mean,
                self.std,
            )

        if self.model == "pair":
            return pair()
        if self.model != "single":
            raise ValueError(f"unknown fitness model {self.model!r}; allowed: pair, single")
        with torch.random.fork_rng(devices=[]):  # the pair is only counted: the single CNN's init is as if alone
            pair_params = sum(pair().num_parameters())
        return larger_single_cnn(chromosome, length, pair_params, self.single_ratio, self.dropout, self.mean, self.std)

    def val_mae(self, chromosome: Chromosome, k: int = 0) -> float:
        """Validation MAE (years) of one network trained with the chromosome's k-th seed.

        A RuntimeError or ValueError while training makes the architecture unfit (inf, logged and kept in
        ``failures``); running out of memory is not a property of the architecture and propagates, so it is never
        cached as a fitness.
        """
        import torch

        from coterie.cooperative.training import fit_pair, fit_single

        torch.set_num_threads(self.torch_threads)
        s = (self.seed * 1_000_003 + int(chromosome.key(), 16) + k * 7919) % (2**31)
        torch.manual_seed(s)
        model = self.build(chromosome)
        try:
            if self.model == "single":
                fit, budget = fit_single, replace(self.train, learning_rate=chromosome.learning_rate)
            else:
                fit, budget = fit_pair, self.train
            res = fit(
                model,
                self.x_train,
                self.y_train,
                self.x_val,
                self.ages_val,
                self.scaler,
                budget,
                seed=s,
                device=self.device,
            )
        except torch.OutOfMemoryError:  # a RuntimeError, but the machine's limit, not the architecture's fault
            raise
        except (RuntimeError, ValueError) as e:  # a pathological architecture is unfit, not a crash
            log.warning("fitness evaluation failed for %s: %s", chromosome.describe(), e)
            self.failures.append(f"{chromosome.describe()}: {type(e).__name__}: {e}")
            return float("inf")
        return float(res.best_val_mae)

    def penalty(self, chromosome: Chromosome) -> float:
        """The cost term added to the mean validation MAE (0 with ``cost="none"`` or weight 0)."""
        from coterie.cooperative.pareto import cost_term, model_cost

        if self.cost == "none" or self.cost_weight == 0:
            return 0.0
        params, flops = model_cost(self.build(chromosome), self.x_train.shape[1])
        return self.cost_weight * cost_term(self.cost, params, flops)

    def __call__(self, chromosome: Chromosome) -> float:
        maes = [self.val_mae(chromosome, k) for k in range(self.n_seeds)]
        return float(np.mean(maes)) + self.penalty(chromosome)
