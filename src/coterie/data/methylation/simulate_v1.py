"""The v1 methylation simulator: beta values logit-linear in Horvath's F(age), age sites in contiguous clusters.

Kept unchanged (same draws for the same seed) because the v1 Co-DeepNet study (docs/results/cooperative/v1/) was run
on it. It favours a linear model by construction; :mod:`coterie.data.methylation.simulate` has the v2 simulator.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from coterie.data.methylation.ages import horvath_transform
from coterie.data.methylation.core import MethylationData


def simulate_methylation(
    n_samples: int = 600,
    n_cpgs: int = 2000,
    n_age_cpgs: int = 200,
    *,
    seed: int = 0,
    age_range: tuple[float, float] = (0.0, 100.0),
    adult_age: float = 20.0,
    cluster_size: int = 5,
    slope_range: tuple[float, float] = (0.05, 0.3),
    neighbor_corr: float = 0.5,
    noise_sd: float = 0.3,
    heteroscedasticity: float = 1.0,
    n_batches: int = 1,
    batch_sd: float = 0.2,
    missing_rate: float = 0.0,
) -> MethylationData:
    """Simulate a cohort of beta values logit-linear in Horvath's F(age) (the v1 study's cohort), in genomic order.

    On the logit (M-value) scale, CpG j of sample i with age a_i is::

        M_ij = μ_j + s_j · F(a_i) + b_{batch(i), j} + σ(a_i) · e_ij,      β_ij = sigmoid(M_ij)

    * F is Horvath's transform (:func:`horvath_transform`): fast change in childhood, linear after ``adult_age``.
    * μ_j: baseline methylation, bimodal like real arrays (≈40 % low, 40 % high, 20 % intermediate); age-associated
      sites are intermediate.
    * s_j: zero except on ``n_age_cpgs`` sites laid out in contiguous clusters of ``cluster_size`` neighbours that
      share the sign of their slope (half the clusters gain, half lose methylation with age); |s_j| is drawn in
      ``slope_range`` per F unit (F spans about −3 … 3.8 over 0–100 years).
    * e_ij: an AR(1) process along the CpG axis with correlation ``neighbor_corr`` between neighbouring sites.
    * σ(a) = ``noise_sd`` · (1 + ``heteroscedasticity`` · a / 100): noise grows with age (epigenetic drift).
    * b: per-batch, per-CpG offsets of standard deviation ``batch_sd`` when ``n_batches > 1`` (samples assigned to
      batches uniformly at random).
    * ``missing_rate``: fraction of values replaced by ``NaN`` at random.

    Ages are uniform over ``age_range``, rounded to 0.1 year. Everything is drawn from one
    ``numpy.random.default_rng(seed)``: the same arguments give the same cohort.

    Returns:
        :class:`MethylationData` with betas (n_samples, n_cpgs) in (0, 1); ``info`` holds the ground truth:
        ``age_cpgs`` (IDs), ``slopes`` (n_cpgs,), ``batch`` (n_samples,).

    A linear model on F(age) is near-optimal for this cohort by construction; for a cohort that does not favour
    one, see :func:`~coterie.data.methylation.simulate.simulate_methylation_v2`.
    """
    if not 0 <= n_age_cpgs <= n_cpgs:
        raise ValueError(f"n_age_cpgs must lie in [0, n_cpgs={n_cpgs}], got {n_age_cpgs}")
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must lie in [0, 1), got {missing_rate}")
    rng = np.random.default_rng(seed)
    ages = np.round(rng.uniform(age_range[0], age_range[1], size=n_samples), 1)
    f_age = horvath_transform(ages, adult_age)
    mu, slopes = _baselines_and_slopes(rng, n_cpgs, n_age_cpgs, cluster_size, slope_range)
    e = _ar1_noise(rng, n_samples, n_cpgs, neighbor_corr)
    sigma = noise_sd * (1.0 + heteroscedasticity * (ages - age_range[0]) / 100.0)
    m = mu[None, :] + f_age[:, None] * slopes[None, :] + sigma[:, None] * e
    batch = rng.integers(0, max(n_batches, 1), size=n_samples)
    if n_batches > 1:
        offsets = rng.normal(0.0, batch_sd, size=(n_batches, n_cpgs))
        m = m + offsets[batch]
    betas = 1.0 / (1.0 + np.exp(-m))
    betas = np.clip(betas, 1e-4, 1 - 1e-4)
    if missing_rate > 0:
        betas[rng.random(betas.shape) < missing_rate] = np.nan
    width = max(8, len(str(n_cpgs)))
    cpg_ids = [f"cg{j:0{width}d}" for j in range(n_cpgs)]
    sample_ids = [f"S{i:05d}" for i in range(n_samples)]
    frame = pd.DataFrame(betas, index=pd.Index(sample_ids, name="sample"), columns=pd.Index(cpg_ids, name="cpg"))
    age_s = pd.Series(ages, index=frame.index, name="age")
    info = {
        "source": "simulated",
        "seed": seed,
        "age_cpgs": [cpg_ids[j] for j in np.flatnonzero(slopes)],
        "slopes": slopes,
        "batch": batch,
    }
    return MethylationData(frame, age_s, info)


def _baselines_and_slopes(
    rng: np.random.Generator, n_cpgs: int, n_age_cpgs: int, cluster_size: int, slope_range: tuple[float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """Bimodal baselines μ (n_cpgs,) and age slopes (n_cpgs,) on clusters at random non-overlapping slots."""
    kind = rng.choice(3, size=n_cpgs, p=[0.4, 0.4, 0.2])
    mu = np.where(
        kind == 0,
        rng.normal(-2.5, 0.6, n_cpgs),
        np.where(kind == 1, rng.normal(2.5, 0.6, n_cpgs), rng.normal(0.0, 0.8, n_cpgs)),
    )
    slopes = np.zeros(n_cpgs)
    n_clusters = math.ceil(n_age_cpgs / max(cluster_size, 1)) if n_age_cpgs else 0
    n_slots = n_cpgs // max(cluster_size, 1)
    if n_clusters > n_slots:
        raise ValueError("too many age clusters for n_cpgs; lower n_age_cpgs or cluster_size")
    slots = np.sort(rng.choice(n_slots, size=n_clusters, replace=False)) if n_clusters else np.array([], dtype=int)
    remaining = n_age_cpgs
    for k, slot in enumerate(slots):
        size = min(cluster_size, remaining)
        remaining -= size
        sign = 1.0 if k % 2 == 0 else -1.0
        base = rng.uniform(*slope_range)
        idx = np.arange(slot * cluster_size, slot * cluster_size + size)
        slopes[idx] = sign * np.clip(base * rng.uniform(0.7, 1.3, size), slope_range[0] * 0.5, None)
        mu[idx] = rng.normal(0.0, 0.7, size)  # intermediate methylation where age acts
    return mu, slopes


def _ar1_noise(rng: np.random.Generator, n_samples: int, n_cpgs: int, rho: float) -> np.ndarray:
    """Standard-normal noise (n_samples, n_cpgs), AR(1) along the CpG axis with lag-1 correlation ``rho``."""
    z = rng.standard_normal((n_samples, n_cpgs))
    e = np.empty_like(z)
    e[:, 0] = z[:, 0]
    rho = float(rho)
    scale = math.sqrt(max(1.0 - rho * rho, 0.0))
    for j in range(1, n_cpgs):
        e[:, j] = rho * e[:, j - 1] + scale * z[:, j]
    return e
