"""The v2 methylation simulator: a cohort on which a linear clock is not optimal by construction.

On the logit (M-value) scale, CpG j of sample i (age a, sex, blood-cell fractions w_k, batch b) is::

    m_ijk = μ_j + A_j · g_j(a) + δ_j · female_i + d_jk                       (cell type k)
    M_ij  = logit(Σ_k w_ik · sigmoid(m_ijk)) + γ_bj + λ_bj · σ_j(a) · e_ij,   β_ij = sigmoid(M_ij)

* g_j: one of the trajectory shapes of :mod:`~coterie.data.methylation.trajectories`, shared by the CpGs of one
  genomic region; σ_j(a) = ``noise_sd`` · (1 + κ_j · a / a_max) grows with age (drift), strongly on ``variance``
  sites;
* the bulk beta is the cell-fraction-weighted mean of cell-type betas (Houseman et al. 2012, BMC Bioinformatics
  13:86); fractions drift with age (fewer CD8 T cells), so cell composition confounds age;
* γ_bj, λ_bj: the additive and multiplicative batch effects of ComBat's model (Johnson et al. 2007, Biostatistics
  8:118);
* e_ij: noise correlated along the genome (:mod:`~coterie.data.methylation.genome`); values are then missing
  completely at random with probability ``missing_rate``.

:class:`CohortParams` lists every parameter with its source; where a value is a plausible choice rather than a
published estimate, its docstring says so. Everything is drawn from one ``numpy.random.default_rng(seed)``.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd

from coterie.data.methylation.cohort_params import CohortParams
from coterie.data.methylation.core import MethylationData
from coterie.data.methylation.genome import correlated_noise, neighbour_correlation, simulate_loci
from coterie.data.methylation.trajectories import SHAPES, trajectory

__all__ = ["CohortParams", "expected_logit", "noise_scale", "simulate_methylation_v2"]


def _region_truth(rng: np.random.Generator, region: np.ndarray, n_age_cpgs: int, p: CohortParams) -> pd.DataFrame:
    """Age trajectory parameters per CpG: whole regions (in random order) become age regions until ``n_age_cpgs``
    CpGs carry one; a region shares shape, sign and shape parameters, amplitudes vary ×U(0.6, 1) within it."""
    n = len(region)
    t = pd.DataFrame(
        {
            "shape": np.full(n, "none", dtype=object),
            "amplitude": 0.0,
            "tau": 10.0,
            "power": 2.0,
            "midpoint": 50.0,
            "width": 5.0,
            "drift": p.drift,
        }
    )
    names = list(p.shape_weights)
    probs = np.array([p.shape_weights[s] for s in names], dtype=np.float64)
    left = n_age_cpgs
    for r in rng.permutation(np.unique(region)):
        if left <= 0:
            break
        idx = np.flatnonzero(region == r)[:left]
        left -= len(idx)
        shape = names[int(rng.choice(len(names), p=probs / probs.sum()))]
        t.loc[idx, "shape"] = shape
        t.loc[idx, "amplitude"] = (
            rng.choice([-1.0, 1.0]) * rng.uniform(*p.amplitude_range) * rng.uniform(0.6, 1.0, len(idx))
        )
        t.loc[idx, ["tau", "power", "midpoint", "width"]] = [
            rng.uniform(*p.tau_range),
            rng.uniform(*p.power_range),
            rng.uniform(*p.midpoint_range),
            rng.uniform(*p.width_range),
        ]
        if shape == "variance":
            t.loc[idx, "amplitude"] = 0.0
            t.loc[idx, "drift"] = rng.uniform(*p.variance_drift_range)
    return t


def _cpg_truth(
    rng: np.random.Generator, loci: pd.DataFrame, region: np.ndarray, n_age_cpgs: int, p: CohortParams
) -> pd.DataFrame:
    """Ground truth per CpG (n_cpgs rows): trajectory, baseline μ, sex effect δ, cell-type marker and effect."""
    n = len(loci)
    t = _region_truth(rng, region, n_age_cpgs, p)
    kind = rng.choice(3, size=n, p=[0.4, 0.4, 0.2])
    mu = np.choose(kind, [rng.normal(-2.5, 0.6, n), rng.normal(2.5, 0.6, n), rng.normal(0.0, 0.8, n)])
    aged = (t["shape"] != "none").to_numpy()
    mu[aged] = rng.normal(0.0, 0.7, int(aged.sum())) - t["amplitude"].to_numpy()[aged] / 2
    t["mu"] = mu
    on_x = (loci["chromosome"] == "X").to_numpy()
    sex = np.where(
        rng.random(n) < p.sex_cpg_fraction, rng.choice([-1.0, 1.0], n) * rng.uniform(*p.sex_effect_range, n), 0.0
    )
    t["sex_effect"] = np.where(on_x, -p.x_inactivation * mu, sex)
    marker = rng.random(n) < p.cell_marker_fraction
    t["cell_type"] = np.where(marker, rng.integers(0, len(p.cell_types), n), -1)
    t["cell_effect"] = np.where(marker, rng.choice([-1.0, 1.0], n) * rng.uniform(*p.cell_effect_range, n), 0.0)
    t.index = loci.index
    return t


def mean_cell_fractions(ages: np.ndarray, p: CohortParams) -> np.ndarray:
    """Expected blood-cell fractions (n, K) at ``ages``: CD8 T cells fall linearly by ``cd8_decline`` (relative) from
    age 0 to ``age_range[1]``; granulocytes take up the difference."""
    base = np.array(list(p.cell_types.values()), dtype=np.float64)
    names = list(p.cell_types)
    frac = np.tile(base, (len(ages), 1))
    loss = base[names.index("CD8T")] * p.cd8_decline * np.clip(np.asarray(ages) / p.age_range[1], 0.0, 1.0)
    frac[:, names.index("CD8T")] -= loss
    frac[:, names.index("Gran")] += loss
    return frac


def expected_logit(
    truth: pd.DataFrame, ages: np.ndarray, female: np.ndarray, fractions: np.ndarray, p: CohortParams
) -> np.ndarray:
    """Noise-free, batch-free logit (n, n_cpgs) of the bulk beta: the cell mixture of the cell-type betas."""
    a = np.asarray(ages, dtype=np.float64)[:, None]
    m = np.repeat(truth["mu"].to_numpy()[None, :], len(a), axis=0)
    m = m + np.asarray(female, dtype=np.float64)[:, None] * truth["sex_effect"].to_numpy()[None, :]
    for shape in SHAPES:
        cols = np.flatnonzero((truth["shape"] == shape).to_numpy())
        if len(cols) and shape != "variance":
            sub = truth.iloc[cols]
            g = trajectory(
                shape,
                a,
                age_max=p.age_range[1],
                adult_age=p.adult_age,
                tau=sub["tau"].to_numpy(),
                power=sub["power"].to_numpy(),
                midpoint=sub["midpoint"].to_numpy(),
                width=sub["width"].to_numpy(),
            )
            m[:, cols] += sub["amplitude"].to_numpy()[None, :] * g
    beta = np.zeros_like(m)
    ctype, ceff = truth["cell_type"].to_numpy(), truth["cell_effect"].to_numpy()
    for k in range(fractions.shape[1]):
        beta += fractions[:, k : k + 1] / (1.0 + np.exp(-(m + np.where(ctype == k, ceff, 0.0)[None, :])))
    beta = np.clip(beta, 1e-6, 1 - 1e-6)
    return np.log(beta / (1.0 - beta))


def noise_scale(truth: pd.DataFrame, ages: np.ndarray, p: CohortParams) -> np.ndarray:
    """σ_j(a) (n, n_cpgs) = noise_sd · (1 + κ_j · a / a_max): noise that grows with age (drift κ per CpG)."""
    a = np.asarray(ages, dtype=np.float64)[:, None] / p.age_range[1]
    return p.noise_sd * (1.0 + truth["drift"].to_numpy()[None, :] * a)


def _samples(rng: np.random.Generator, n: int, p: CohortParams) -> dict[str, np.ndarray]:
    ages = np.round(rng.uniform(p.age_range[0], p.age_range[1], size=n), 1)
    female = (rng.random(n) < p.female_fraction).astype(np.float64)
    mean = mean_cell_fractions(ages, p)
    fractions = np.stack([rng.dirichlet(p.cell_concentration * row) for row in mean])
    batch = rng.integers(0, max(p.n_batches, 1), size=n)
    return {"ages": ages, "female": female, "fractions": fractions, "batch": batch}


def simulate_methylation_v2(
    n_samples: int = 600,
    n_cpgs: int = 2000,
    n_age_cpgs: int = 200,
    *,
    seed: int = 0,
    params: CohortParams | None = None,
    **overrides: Any,
) -> MethylationData:
    """Simulate a cohort (see the module docstring) with ``params`` (default :class:`CohortParams`) updated by
    ``overrides`` (any :class:`CohortParams` field by name).

    Returns:
        :class:`MethylationData` with betas (n_samples, n_cpgs) in (0, 1) (``NaN`` where missing), CpGs in genomic
        order with ``loci``; ``info`` holds the ground truth: ``age_cpgs`` (IDs of CpGs with a trajectory),
        ``truth`` (DataFrame per CpG), ``female``, ``cell_fractions`` (DataFrame (samples, K)), ``batch``,
        ``batch_shift``/``batch_scale`` (n_batches, n_cpgs) and ``params`` (the CohortParams as a dict).
    """
    p = replace(params or CohortParams(), **overrides)
    p.validate(n_cpgs, n_age_cpgs)
    rng = np.random.default_rng(seed)
    loci, region = simulate_loci(rng, n_cpgs, p.region_size, p.intra_gap)
    truth = _cpg_truth(rng, loci, region, n_age_cpgs, p)
    s = _samples(rng, n_samples, p)
    m = expected_logit(truth, s["ages"], s["female"], s["fractions"], p)
    shift = rng.normal(0.0, p.batch_sd, size=(p.n_batches, n_cpgs)) if p.n_batches > 1 else np.zeros((1, n_cpgs))
    scale = np.exp(rng.normal(0.0, p.batch_scale_sd, size=shift.shape)) if p.n_batches > 1 else np.ones_like(shift)
    e = correlated_noise(rng, n_samples, neighbour_correlation(loci, p.corr_max, p.corr_length))
    m += shift[s["batch"]] + scale[s["batch"]] * noise_scale(truth, s["ages"], p) * e
    betas = np.clip(1.0 / (1.0 + np.exp(-m)), 1e-4, 1 - 1e-4)
    if p.missing_rate > 0:
        betas[rng.random(betas.shape) < p.missing_rate] = np.nan
    width = max(8, len(str(n_cpgs)))
    cpg_ids = pd.Index([f"cg{j:0{width}d}" for j in range(n_cpgs)], name="cpg")
    samples = pd.Index([f"S{i:05d}" for i in range(n_samples)], name="sample")
    loci.index = truth.index = cpg_ids
    info = {
        "source": "simulated-v2",
        "seed": seed,
        "age_cpgs": list(cpg_ids[(truth["shape"] != "none").to_numpy()]),
        "truth": truth,
        "female": s["female"],
        "batch": s["batch"],
        "batch_shift": shift,
        "batch_scale": scale,
        "cell_fractions": pd.DataFrame(s["fractions"], index=samples, columns=list(p.cell_types)),
        "region": region,
        "params": asdict(p),
    }
    return MethylationData(
        pd.DataFrame(betas, index=samples, columns=cpg_ids), pd.Series(s["ages"], index=samples, name="age"), info, loci
    )
