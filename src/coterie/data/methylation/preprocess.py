"""Splits and preprocessing of a methylation cohort, fitted on the training split only.

* :func:`split_samples` — age-stratified train / validation / test indices.
* :func:`age_correlation` — per-CpG correlation with age (or Horvath's F(age)), missing values ignored per CpG.
* :class:`MethylationPreprocessor` — missing-value imputation and CpG selection by correlation with age, fitted on
  the training split and then applied unchanged to validation and test; returns float32 (samples, selected CpGs).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from coterie.data.methylation.ages import horvath_transform
from coterie.utils.errors import InputError

log = logging.getLogger(__name__)

#: The fewest training samples a split may leave (a scaler, a standardisation and every baseline need two).
MIN_TRAIN_SAMPLES = 2


class TooFewSamplesError(InputError):
    """Too few samples with an age to make the requested train / validation / test split (bad input: exit 2)."""


def split_samples(
    ages: np.ndarray | pd.Series,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_strata: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Age-stratified random split into train / validation / test index arrays.

    Samples are binned into ``n_strata`` age quantiles and each bin is split in the given fractions, so each split
    spans the whole age range. The three index arrays are disjoint, sorted, and cover every sample.

    Raises:
        TooFewSamplesError: the split leaves fewer than :data:`MIN_TRAIN_SAMPLES` training samples, or no
            validation or test sample although its fraction is positive.
    """
    a = np.asarray(ages, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError("split_samples needs every age; drop samples without one first (drop_missing_ages)")
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ValueError("need val_fraction, test_fraction >= 0 with val_fraction + test_fraction < 1")
    rng = np.random.default_rng(seed)
    n_strata = max(1, min(n_strata, len(a) // 5 or 1))
    edges = np.quantile(a, np.linspace(0, 1, n_strata + 1)[1:-1])
    strata = np.searchsorted(edges, a, side="right")
    tr, va, te = [], [], []
    for s in np.unique(strata):
        idx = rng.permutation(np.flatnonzero(strata == s))
        n_te = round(len(idx) * test_fraction)
        n_va = round(len(idx) * val_fraction)
        te.append(idx[:n_te])
        va.append(idx[n_te : n_te + n_va])
        tr.append(idx[n_te + n_va :])
    out = tuple(np.sort(np.concatenate(x)).astype(np.int64) for x in (tr, va, te))
    _check_split_sizes(len(a), *(len(x) for x in out), val_fraction, test_fraction)
    return out  # type: ignore[return-value]


def _check_split_sizes(n: int, n_tr: int, n_va: int, n_te: int, val_fraction: float, test_fraction: float) -> None:
    """Refuse a split that no model can be fitted, selected or scored on (one line, before any training)."""
    short = n_tr < MIN_TRAIN_SAMPLES or (val_fraction > 0 and n_va == 0) or (test_fraction > 0 and n_te == 0)
    if short:
        raise TooFewSamplesError(
            f"too few samples with an age to split: {n} make train {n_tr}, validation {n_va}, test {n_te} "
            f"(val_fraction {val_fraction:g}, test_fraction {test_fraction:g}); at least {MIN_TRAIN_SAMPLES} "
            "training samples and one validation and one test sample are needed: add samples with ages"
        )


def age_correlation(
    betas: pd.DataFrame | np.ndarray,
    ages: pd.Series | np.ndarray,
    method: Literal["pearson", "spearman"] = "pearson",
    target: Literal["age", "horvath"] = "age",
    adult_age: float = 20.0,
) -> np.ndarray:
    """Correlation (CpGs,) of each CpG with age (or with Horvath's F(age)), ignoring missing values per CpG."""
    x = np.asarray(betas, dtype=np.float64)
    y = np.asarray(ages, dtype=np.float64)
    if target == "horvath":
        y = horvath_transform(y, adult_age)
    if method == "spearman":
        x = pd.DataFrame(x).rank(axis=0).to_numpy()
        y = pd.Series(y).rank().to_numpy()
    mask = ~np.isnan(x)
    n = mask.sum(0).astype(np.float64)
    ym = np.where(mask, y[:, None], 0.0)
    xm = np.where(mask, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = xm.sum(0) / n
        my = ym.sum(0) / n
        dx = np.where(mask, x - mx, 0.0)
        dy = np.where(mask, y[:, None] - my, 0.0)
        r = (dx * dy).sum(0) / np.sqrt((dx * dx).sum(0) * (dy * dy).sum(0))
    return np.nan_to_num(r, nan=0.0)


@dataclass
class MethylationPreprocessor:
    """Imputation and CpG selection, fitted on the training split only.

    ``fit`` on the training samples:

    1. drops CpGs missing in more than ``max_missing_fraction`` of the training samples;
    2. learns the imputation value of each remaining CpG: its training ``median`` (default; robust to the bimodal
       beta distribution) or ``mean``;
    3. ranks the CpGs by |correlation| with age on the (imputed) training samples (``method`` Pearson or Spearman,
       ``target`` age or Horvath's F(age)) and keeps the ``n_cpgs`` strongest (all if ``n_cpgs`` is ``None``);
    4. orders the kept CpGs by ``order``: ``"original"`` keeps file order (genomic order for the simulator and for
       files sorted by position, so the 1-D convolutions see neighbouring sites side by side), ``"correlation"``
       sorts them by signed correlation (gaining sites, then losing ones), which gives convolutions a smooth
       profile when the file order is arbitrary (e.g. probe IDs sorted alphabetically).

    ``transform`` applies the same columns and imputation values to any split. No scaling happens here: the neural
    models normalise inside (per-CpG mean/std from the training split), the scikit-learn baselines use a
    ``StandardScaler`` fitted on the training split.
    """

    n_cpgs: int | None = 200
    method: Literal["pearson", "spearman"] = "pearson"
    target: Literal["age", "horvath"] = "age"
    imputation: Literal["median", "mean"] = "median"
    max_missing_fraction: float = 0.2
    order: Literal["original", "correlation"] = "original"
    adult_age: float = 20.0
    selected_: list[str] = field(default_factory=list, init=False)
    fill_values_: pd.Series | None = field(default=None, init=False)
    correlations_: pd.Series | None = field(default=None, init=False)
    dropped_missing_: list[str] = field(default_factory=list, init=False)

    def fit(self, betas: pd.DataFrame, ages: pd.Series | np.ndarray) -> MethylationPreprocessor:
        """Learn columns and imputation values from the training samples ``betas`` (n_train, CpGs)."""
        if len(betas) != len(ages):
            raise ValueError("betas and ages have different numbers of samples")
        frac = betas.isna().mean(axis=0)
        ok = frac <= self.max_missing_fraction
        self.dropped_missing_ = [str(c) for c in betas.columns[~ok.to_numpy()]]
        if self.dropped_missing_:
            log.info(
                "dropping %d CpG(s) missing in > %.0f%% of training samples",
                len(self.dropped_missing_),
                100 * self.max_missing_fraction,
            )
        kept = betas.loc[:, ok.to_numpy()]
        if kept.shape[1] == 0:
            raise ValueError("no CpG passes the missing-value filter on the training split")
        fill = kept.median(axis=0) if self.imputation == "median" else kept.mean(axis=0)
        fill = fill.fillna(0.5)
        imputed = kept.fillna(fill)
        r = age_correlation(imputed.to_numpy(), np.asarray(ages), self.method, self.target, self.adult_age)
        corr = pd.Series(r, index=kept.columns)
        k = len(corr) if self.n_cpgs is None else min(self.n_cpgs, len(corr))
        top = np.argsort(-np.abs(r), kind="stable")[:k]
        if self.order == "original":
            chosen = np.sort(top)
        else:
            chosen = top[np.argsort(-r[top], kind="stable")]
        self.selected_ = [str(c) for c in kept.columns[chosen]]
        self.fill_values_ = fill.loc[self.selected_]
        self.correlations_ = corr.loc[self.selected_]
        return self

    def transform(self, betas: pd.DataFrame) -> np.ndarray:
        """Selected, imputed betas as float32 (samples, n_selected) in the fitted column order."""
        if self.fill_values_ is None:
            raise RuntimeError("MethylationPreprocessor.transform called before fit")
        missing = [c for c in self.selected_ if c not in betas.columns]
        if missing:
            raise KeyError(f"{len(missing)} selected CpG(s) absent from this table, e.g. {missing[:5]}")
        x = betas.loc[:, self.selected_].fillna(self.fill_values_)
        return x.to_numpy(dtype=np.float32)

    def fit_transform(self, betas: pd.DataFrame, ages: pd.Series | np.ndarray) -> np.ndarray:
        return self.fit(betas, ages).transform(betas)
