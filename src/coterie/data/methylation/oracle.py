"""An age oracle for v2-simulated cohorts: maximum likelihood over an age grid using the true trajectories.

It knows every age CpG's trajectory, baseline, sex effect, cell-marker effect, noise law and each sample's sex, and
uses the population-mean cell fractions at each candidate age; it does not know a sample's own cell fractions or
batch. It is a reference for what a model of the right (non-linear) form can reach on the cohort, e.g. to show that
an elastic net is not near-optimal there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from coterie.data.methylation.cohort_params import CohortParams
from coterie.data.methylation.simulate import expected_logit, mean_cell_fractions, noise_scale


def oracle_age(
    betas: pd.DataFrame,
    truth: pd.DataFrame,
    female: np.ndarray,
    params: CohortParams | dict,
    grid: np.ndarray | None = None,
) -> np.ndarray:
    """Maximum-likelihood age (samples,) of each row of ``betas`` (samples, CpGs; ``NaN`` ignored) under a Gaussian
    model on the logit scale, searched over ``grid`` (default: ``age_range`` in steps of 0.25 years).

    Args:
        truth: ``info["truth"]`` of :func:`~coterie.data.methylation.simulate.simulate_methylation_v2`.
        female: (samples,) 0/1 sex of each row.
        params: the cohort's :class:`CohortParams` (or ``info["params"]``).
    """
    p = params if isinstance(params, CohortParams) else CohortParams(**params)
    grid = np.arange(p.age_range[0], p.age_range[1] + 1e-9, 0.25) if grid is None else np.asarray(grid, float)
    cols = [c for c in truth.index[(truth["shape"] != "none").to_numpy()] if c in betas.columns]
    t = truth.loc[cols]
    x = betas.loc[:, cols].to_numpy(dtype=np.float64)
    mask = ~np.isnan(x)
    x = np.where(mask, np.log(np.clip(x, 1e-6, 1 - 1e-6) / np.clip(1 - x, 1e-6, 1)), 0.0)
    sigma = noise_scale(t, grid, p)  # (G, p)
    w = 1.0 / sigma**2
    fractions = mean_cell_fractions(grid, p)
    female = np.asarray(female, dtype=np.float64)
    nll = np.empty((len(x), len(grid)))
    for sex in (0.0, 1.0):
        rows = np.flatnonzero(female == sex)
        if not len(rows):
            continue
        mu = expected_logit(t, grid, np.full(len(grid), sex), fractions, p)  # (G, p)
        xm, mm = x[rows], mask[rows].astype(np.float64)
        nll[rows] = (xm**2) @ w.T - 2.0 * xm @ (mu * w).T + mm @ (mu**2 * w).T + mm @ (2.0 * np.log(sigma)).T
    return grid[np.argmin(nll, axis=1)]
