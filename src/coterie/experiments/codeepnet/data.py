"""Data side of ``experiment: codeepnet``: the cohort (simulated v1 / v2 or a real file with an optional platform
annotation) and the published-clock baselines on the raw betas.

Used by :mod:`.prepare` (the cohort) and :mod:`.final` (the clocks).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from coterie.cooperative.baselines import BaselineResult, clock_baseline
from coterie.data.methylation import MethylationData, load_methylation, simulate_methylation, simulate_methylation_v2
from coterie.experiments.codeepnet.config import CoDeepNetConfig

log = logging.getLogger(__name__)


def load_cohort(cfg: CoDeepNetConfig) -> tuple[MethylationData, list[str]]:
    """The run's cohort without samples lacking an age, and the dropped sample IDs.

    ``data_file`` set: read it (GEO series matrix or table), with ``data.annotation_file`` giving probe positions and
    ``data.cpg_order`` (default ``genomic`` when an annotation is given) the CpG order. Otherwise simulate with
    ``data.simulate.version`` 1 (the v1 study's cohort) or 2 (:func:`simulate_methylation_v2`, ``params`` passed as
    :class:`~coterie.data.methylation.CohortParams` overrides), seeded by ``seed``.
    """
    if cfg.data_file:
        data = load_methylation(
            cfg.data_file, age_column=cfg.data.age_column, annotation=cfg.data.annotation_file, order=cfg.data.cpg_order
        )
        return data.drop_missing_ages()
    s = cfg.data.simulate
    if s.version == 2:
        data = simulate_methylation_v2(s.n_samples, s.n_cpgs, s.n_age_cpgs, seed=cfg.seed, **s.params)
    else:
        data = simulate_methylation(
            s.n_samples,
            s.n_cpgs,
            s.n_age_cpgs,
            seed=cfg.seed,
            cluster_size=s.cluster_size,
            slope_range=s.slope_range,
            neighbor_corr=s.neighbor_corr,
            noise_sd=s.noise_sd,
            heteroscedasticity=s.heteroscedasticity,
            n_batches=s.n_batches,
            batch_sd=s.batch_sd,
            missing_rate=s.missing_rate,
        )
    return data.drop_missing_ages()


def clock_models(
    cfg: CoDeepNetConfig, data: MethylationData, va: np.ndarray, te: np.ndarray
) -> list[tuple[BaselineResult, dict[str, Any]]]:
    """The published clocks of ``baselines.clocks`` on the raw validation / test betas, each with its results entry;
    clocks whose CpGs the data lack (e.g. simulated IDs) are skipped with a log line."""
    impute = None if cfg.baselines.clock_impute == "none" else cfg.baselines.clock_impute
    ages = data.ages.to_numpy()
    out = []
    for name in cfg.baselines.clocks:
        b = clock_baseline(name, data.betas.iloc[va], ages[va], data.betas.iloc[te], ages[te], impute=impute)
        if b is None:
            continue
        entry = {
            **b.metrics,
            "mae_std": 0.0,
            "val_mae": b.val_mae,
            "n_parameters": b.n_parameters,
            "train_seconds": 0.0,
            "hyperparameters": b.params,
            "published": True,
        }
        out.append((b, entry))
    return out
