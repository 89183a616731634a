"""Baselines for methylation age prediction, fitted on the same splits as the Co-DeepNet pair.

* :class:`SingleCNN` — one 1-D CNN built from a network's genes, no partner; :func:`larger_single_cnn` widens a
  pair's larger network until the single CNN has at least ``min_param_ratio`` times the pair's parameters.
* Scikit-learn regressors on standardised selected CpGs (``StandardScaler`` fitted on the training split), all
  tuned by the same rule: a 3 × 3 grid (:data:`BASELINE_GRIDS`) over the two hyper-parameters that matter most,
  each candidate fitted on the training split, the one with the lowest validation MAE kept (ties: the first), test
  evaluated once:

  - ``svr``: RBF support-vector regression, C × gamma (gamma in units of 1/features, sklearn's ``"scale"`` on
    standardised inputs);
  - ``gbr``: gradient-boosting regression (``GradientBoostingRegressor``, ``gbr_estimators`` trees, subsample 0.8),
    learning rate × tree depth;
  - ``elastic_net``: the penalised regression behind the Horvath and Hannum clocks, penalty α × L1 mixing. It is
    fitted to these data; the published clocks themselves are :func:`clock_baseline` (real Illumina data only).

  All three regress the same target as the networks (ages, or Horvath's F(age) when the experiment asks for it).
* :func:`clock_baseline` — the published Horvath (2013) / Hannum (2013) clocks (:mod:`coterie.cooperative.clocks`)
  applied unchanged to the validation and test betas, wherever the data carry the clock's Illumina CpG IDs.

:func:`regression_metrics` gives MAE, RMSE, R² and median absolute error in years. "Parameters" for the sklearn
models are their effective sizes: SVR support vectors × (features + 1) + 1, elastic-net non-zero coefficients + 1,
gradient boosting's total tree nodes.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from torch import Tensor, nn

from coterie.cooperative.chromosome import Chromosome, NetGenes
from coterie.cooperative.codeepnet import CoopCNN

log = logging.getLogger(__name__)

SKLEARN_BASELINES: tuple[str, ...] = ("svr", "gbr", "elastic_net")


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, R² and median absolute error of predictions (n,) against truth (n,)."""
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    err = p - t
    ss_res = float(np.sum(err**2))
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan"),
        "median_ae": float(np.median(np.abs(err))),
    }


class SingleCNN(nn.Module):
    """A single 1-D CNN regressor (the "one larger network" of seed 001): a :class:`CoopCNN` without partner.

    Input (B, L) betas in natural range, normalised inside with per-CpG mean/std (L,); output (B, 1).
    """

    input_mean: Tensor
    input_std: Tensor

    def __init__(
        self,
        genes: NetGenes,
        input_length: int,
        dropout: float = 0.0,
        mean: np.ndarray | None = None,
        std: np.ndarray | None = None,
    ) -> None:
        super().__init__()
        import torch

        self.genes = genes
        self.net = CoopCNN(genes, input_length, partner_dim=0, dropout=dropout)
        L = input_length
        m = torch.zeros(L) if mean is None else torch.as_tensor(np.asarray(mean, dtype=np.float32))
        s = torch.ones(L) if std is None else torch.as_tensor(np.asarray(std, dtype=np.float32))
        self.register_buffer("input_mean", m.reshape(1, 1, L).float().clone())
        self.register_buffer("input_std", s.reshape(1, 1, L).float().clone().clamp_min(1e-6))

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        z = (x - self.input_mean) / self.input_std
        return self.net.head(self.net.features(z))


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def scale_net(genes: NetGenes, factor: float) -> NetGenes:
    """The same structure with every channel count and FC width multiplied by ``factor`` (rounded, ≥ 1)."""
    conv = tuple(replace(g, channels=max(1, round(g.channels * factor))) for g in genes.conv)
    fc = tuple(max(1, round(w * factor)) for w in genes.fc)
    return NetGenes(conv, fc, genes.share)


def larger_single_cnn(
    chromosome: Chromosome,
    input_length: int,
    pair_parameters: int,
    min_param_ratio: float = 1.5,
    dropout: float = 0.0,
    mean: np.ndarray | None = None,
    std: np.ndarray | None = None,
) -> SingleCNN:
    """The pair's larger network, widened by the smallest factor (steps of 0.05) giving ≥ ``min_param_ratio`` ×
    ``pair_parameters`` parameters."""
    sizes = [count_parameters(CoopCNN(n, input_length)) for n in chromosome.nets]
    base = chromosome.nets[int(np.argmax(sizes))]
    target = min_param_ratio * pair_parameters
    factor = 1.0
    for _ in range(400):
        genes = scale_net(base, factor)
        if count_parameters(CoopCNN(genes, input_length)) >= target:
            break
        factor += 0.05
    return SingleCNN(genes, input_length, dropout, mean, std)


@dataclass
class BaselineResult:
    name: str
    metrics: dict[str, float]
    val_mae: float
    n_parameters: int
    train_seconds: float
    params: dict[str, Any]
    test_pred: np.ndarray


def _effective_size(name: str, model: Any, n_features: int) -> int:
    if name == "svr":
        return int(model.support_.shape[0] * (n_features + 1) + 1)
    if name == "elastic_net":
        return int(np.count_nonzero(model.coef_) + 1)
    if name == "gbr":
        return int(sum(est.tree_.node_count for est in model.estimators_.ravel()))
    return 0


BASELINE_GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "svr": {"C": (1.0, 10.0, 100.0), "gamma": (0.3, 1.0, 3.0)},
    "gbr": {"learning_rate": (0.03, 0.1, 0.3), "max_depth": (2, 3, 4)},
    "elastic_net": {"alpha": (1e-3, 1e-2, 1e-1), "l1_ratio": (0.1, 0.5, 0.9)},
}
"""Each baseline's 3 × 3 validation grid (the same size and rule for all; SVR's gamma is in units of 1/features)."""


def _candidates(name: str, gbr_estimators: int, seed: int, n_features: int) -> list[tuple[dict[str, Any], Any]]:
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.linear_model import ElasticNet
    from sklearn.svm import SVR

    if name not in BASELINE_GRIDS:
        raise ValueError(f"unknown baseline {name!r}; choose from {SKLEARN_BASELINES}")
    (k1, v1), (k2, v2) = BASELINE_GRIDS[name].items()
    grid = [{k1: a, k2: b} for a in v1 for b in v2]
    if name == "svr":
        return [(g, SVR(kernel="rbf", C=g["C"], gamma=g["gamma"] / max(n_features, 1), epsilon=0.1)) for g in grid]
    if name == "gbr":
        return [
            (
                g,
                GradientBoostingRegressor(
                    n_estimators=gbr_estimators,
                    learning_rate=g["learning_rate"],
                    max_depth=int(g["max_depth"]),
                    subsample=0.8,
                    random_state=seed,
                ),
            )
            for g in grid
        ]
    return [(g, ElasticNet(alpha=g["alpha"], l1_ratio=g["l1_ratio"], max_iter=20000)) for g in grid]


def fit_sklearn_baseline(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    ages_val: np.ndarray,
    x_test: np.ndarray,
    ages_test: np.ndarray,
    scaler: Any,
    gbr_estimators: int = 200,
    seed: int = 0,
) -> BaselineResult:
    """Fit baseline ``name`` with its hyper-parameters chosen on validation MAE (:data:`BASELINE_GRIDS`); report
    test metrics in years.

    Args:
        x_*: inputs (n, L) (selected, imputed betas); standardised here with training statistics.
        y_train: standardised targets (n,) (``scaler.encode(ages_train)``).
        ages_val, ages_test: ages in years.
        scaler: the :class:`~coterie.cooperative.training.TargetScaler` mapping outputs back to years.
    """
    from sklearn.preprocessing import StandardScaler

    std = StandardScaler().fit(x_train)
    xtr, xva, xte = std.transform(x_train), std.transform(x_val), std.transform(x_test)
    best: tuple[float, dict[str, Any], Any, float] | None = None
    for params, model in _candidates(name, gbr_estimators, seed, xtr.shape[1]):
        t0 = time.perf_counter()
        model.fit(xtr, y_train)
        secs = time.perf_counter() - t0
        val = float(np.mean(np.abs(scaler.decode(model.predict(xva)) - ages_val)))
        if best is None or val < best[0]:
            best = (val, params, model, secs)
    assert best is not None
    val, params, model, secs = best
    pred = scaler.decode(model.predict(xte))
    return BaselineResult(
        name, regression_metrics(ages_test, pred), val, _effective_size(name, model, xtr.shape[1]), secs, params, pred
    )


def clock_baseline(
    clock: str,
    betas_val: pd.DataFrame,
    ages_val: np.ndarray,
    betas_test: pd.DataFrame,
    ages_test: np.ndarray,
    impute: str | pd.Series | None = None,
) -> BaselineResult | None:
    """A published clock (``"horvath2013"`` / ``"hannum2013"``) applied unchanged to raw validation and test betas
    (samples, CpGs, Illumina IDs); ``None`` (logged) when the data lack the clock's CpGs and ``impute`` is ``None``
    or when biolearn's tables are not installed. Nothing is fitted: ``train_seconds`` is 0, parameters = CpGs + 1.
    """
    from coterie.cooperative import clocks

    if clock not in clocks.CLOCKS:
        raise ValueError(f"unknown clock {clock!r}; allowed: {list(clocks.CLOCKS)}")
    try:
        val = clocks.predict(betas_val, clock, impute=impute).to_numpy()
        t0 = time.perf_counter()
        pred = clocks.predict(betas_test, clock, impute=impute).to_numpy()
        secs = time.perf_counter() - t0
        n_cpgs = len(clocks.load_coefficients(clocks.biolearn_data_dir() / clocks.CLOCKS[clock].file)[0])
    except (clocks.ClockCpGError, ImportError) as e:
        log.info("published clock %s skipped: %s", clock, e)
        return None
    return BaselineResult(
        clock,
        regression_metrics(ages_test, pred),
        float(np.mean(np.abs(val - ages_val))),
        n_cpgs + 1,
        0.0,
        {"impute": impute if isinstance(impute, str) or impute is None else "series", "predict_seconds": secs},
        pred,
    )
