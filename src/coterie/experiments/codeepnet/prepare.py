"""Steps 1-3 of ``experiment: codeepnet``: the cohort, its age-stratified splits and the train-only preprocessing.

Everything the later steps need is returned as one :class:`PreparedData`, so the search, the final training and the
baselines read the same arrays.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from coterie.cooperative.training import TargetScaler, TrainConfig
from coterie.data.methylation import MethylationData, MethylationPreprocessor, split_samples
from coterie.experiments.codeepnet.config import CoDeepNetConfig
from coterie.experiments.codeepnet.data import load_cohort

log = logging.getLogger(__name__)


@dataclass
class PreparedData:
    """The run's data after steps 1-3.

    Attributes:
        data: the cohort (samples with an age). tr, va, te: sample indices of the splits.
        pre: the preprocessor fitted on the training split.
        x_tr, x_va, x_te: selected CpGs (n_split, L). a_tr, a_va, a_te: ages in years (n_split,).
        scaler: the target scaler fitted on training ages; y_tr = scaler.encode(a_tr) (n_train,).
        mean, std: per-CpG input normalisation (L,), from the training split.
        info: the ``data`` section of results.json.
    """

    data: MethylationData
    tr: np.ndarray
    va: np.ndarray
    te: np.ndarray
    pre: MethylationPreprocessor
    x_tr: np.ndarray
    x_va: np.ndarray
    x_te: np.ndarray
    a_tr: np.ndarray
    a_va: np.ndarray
    a_te: np.ndarray
    scaler: TargetScaler
    y_tr: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    info: dict[str, Any]

    @property
    def length(self) -> int:
        """L, the number of selected CpGs (the networks' input length)."""
        return int(self.x_tr.shape[1])


def prepare_data(cfg: CoDeepNetConfig) -> PreparedData:
    """Load the cohort, split it (seeded by ``cfg.seed``) and fit the preprocessing on the training split only."""
    data, dropped = load_cohort(cfg)
    tr, va, te = split_samples(data.ages.to_numpy(), cfg.data.val_fraction, cfg.data.test_fraction, seed=cfg.seed)
    pre = MethylationPreprocessor(
        n_cpgs=cfg.data.n_selected,
        method=cfg.data.selection_method,
        target=cfg.data.selection_target,
        imputation=cfg.data.imputation,
        max_missing_fraction=cfg.data.max_missing_fraction,
        order=cfg.data.order,
    ).fit(data.betas.iloc[tr], data.ages.iloc[tr])
    x_tr, x_va, x_te = (pre.transform(data.betas.iloc[i]) for i in (tr, va, te))
    a_tr, a_va, a_te = (data.ages.to_numpy()[i] for i in (tr, va, te))
    scaler = TargetScaler(cfg.target_transform).fit(a_tr)
    info: dict[str, Any] = {
        "source": data.info.get("source"),
        "n_samples": data.n_samples,
        "n_cpgs": data.n_cpgs,
        "n_selected": x_tr.shape[1],
        "n_train": len(tr),
        "n_val": len(va),
        "n_test": len(te),
        "dropped_without_age": len(dropped),
        "cpgs_dropped_missing": len(pre.dropped_missing_),
        "age_range": [float(data.ages.min()), float(data.ages.max())],
    }
    if "age_cpgs" in data.info:
        truth = set(data.info["age_cpgs"])
        info["selected_truly_age_associated"] = int(sum(c in truth for c in pre.selected_))
        info["n_age_cpgs"] = len(truth)
    log.info("data: %s", info)
    return PreparedData(
        data,
        tr,
        va,
        te,
        pre,
        x_tr,
        x_va,
        x_te,
        a_tr,
        a_va,
        a_te,
        scaler,
        scaler.encode(a_tr),
        x_tr.mean(0),
        x_tr.std(0) + 1e-4,
        info,
    )


def train_config(cfg: CoDeepNetConfig) -> TrainConfig:
    """The pair's final-training :class:`~coterie.cooperative.training.TrainConfig` from ``cfg.train`` (the one
    mapping of that section; the search's fitness budget is this with other epochs and patience)."""
    return TrainConfig(
        epochs=cfg.train.epochs,
        batch_size=cfg.train.batch_size,
        weight_decay=cfg.train.weight_decay,
        loss=cfg.train.loss,
        transmission_unit=cfg.train.transmission_unit,
        distill_weight=cfg.train.distill_weight,
        patience=cfg.train.patience,
    )
