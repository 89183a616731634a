"""Genomic layout for the v2 simulator: CpG loci (chromosome, position) in regions, and noise correlated along them.

* Chromosomes 1–22 and X receive CpGs in proportion to their GRCh37 (hg19) lengths (UCSC ``chromInfo``, rounded to
  0.01 Mb below). Y is left out so that sex is read from X alone.
* CpGs come in regions (CpG islands / shores, where 450k probes cluster): region sizes are geometric with mean
  ``region_size`` (4: a plausible choice), region starts uniform along the chromosome, and consecutive CpGs inside a
  region ``1 + Exp(intra_gap)`` bp apart (``intra_gap`` = 100 bp: a plausible choice for probes in one island).
* Noise is an AR(1) process along each chromosome whose lag-1 correlation between neighbours ``d`` bp apart is
  ``corr_max · exp(−d / corr_length)``, so correlation decays with distance and vanishes across chromosomes.
  Co-methylation decays within about a kilobase (Eckhardt et al. 2006, Nature Genetics 38:1378); ``corr_length``
  = 1000 bp follows that, ``corr_max`` = 0.6 is a plausible choice.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CHROMOSOME_MB: dict[str, float] = {
    "1": 249.25,
    "2": 243.20,
    "3": 198.02,
    "4": 191.15,
    "5": 180.92,
    "6": 171.12,
    "7": 159.14,
    "8": 146.36,
    "9": 141.21,
    "10": 135.53,
    "11": 135.01,
    "12": 133.85,
    "13": 115.17,
    "14": 107.35,
    "15": 102.53,
    "16": 90.35,
    "17": 81.20,
    "18": 78.08,
    "19": 59.13,
    "20": 63.03,
    "21": 48.13,
    "22": 51.30,
    "X": 155.27,
}
"""GRCh37 chromosome lengths in Mb (UCSC hg19 chromInfo), chromosome Y left out."""


def simulate_loci(
    rng: np.random.Generator, n_cpgs: int, region_size: float = 4.0, intra_gap: float = 100.0
) -> tuple[pd.DataFrame, np.ndarray]:
    """CpG loci in genomic order and the region each CpG belongs to.

    Returns:
        ``loci``: DataFrame (n_cpgs, 2) with ``chromosome`` (str) and ``position`` (int64, strictly increasing within
        a chromosome), chromosomes in the order 1–22, X; ``region``: int array (n_cpgs,) of region numbers, equal
        for consecutive CpGs of one region, increasing along the genome.
    """
    names = list(CHROMOSOME_MB)
    length = np.array([CHROMOSOME_MB[c] * 1e6 for c in names])
    sizes: list[int] = []
    while sum(sizes) < n_cpgs:
        sizes.append(int(rng.geometric(1.0 / max(region_size, 1.0))))
    sizes[-1] -= sum(sizes) - n_cpgs
    region_chrom = np.sort(rng.choice(len(names), size=len(sizes), p=length / length.sum()))
    chrom, pos, region = [], [], []
    for c in range(len(names)):
        regs = np.flatnonzero(region_chrom == c)
        starts = np.sort(rng.integers(1, int(length[c]) - 10**5, size=len(regs)))
        for r, start in zip(regs, starts):
            gaps = 1 + np.floor(rng.exponential(intra_gap, size=sizes[r] - 1)).astype(np.int64)
            pos.append(start + np.concatenate([[0], np.cumsum(gaps)]))
            chrom += [names[c]] * sizes[r]
            region += [r] * sizes[r]
    position = np.concatenate(pos).astype(np.int64)
    chromosome = np.array(chrom)
    for c in names:  # overlapping regions: keep positions strictly increasing within a chromosome
        idx = np.flatnonzero(chromosome == c)
        p = position[idx]
        position[idx] = np.maximum.accumulate(p - np.arange(len(p))) + np.arange(len(p))
    loci = pd.DataFrame({"chromosome": chromosome, "position": position})
    return loci, np.asarray(region, dtype=np.int64)


def neighbour_correlation(loci: pd.DataFrame, corr_max: float, corr_length: float) -> np.ndarray:
    """Lag-1 correlation (n_cpgs,) of each CpG with the previous one: ``corr_max · exp(−gap / corr_length)``; 0 for
    the first CpG of each chromosome."""
    chrom = loci["chromosome"].to_numpy()
    pos = loci["position"].to_numpy(dtype=np.float64)
    rho = np.zeros(len(pos))
    same = chrom[1:] == chrom[:-1]
    gap = np.where(same, pos[1:] - pos[:-1], np.inf)
    rho[1:] = corr_max * np.exp(-gap / corr_length)
    return rho


def correlated_noise(rng: np.random.Generator, n_samples: int, rho: np.ndarray) -> np.ndarray:
    """Standard-normal noise (n_samples, n_cpgs), AR(1) along the CpG axis with per-step correlation ``rho`` (n_cpgs,):
    ``e_j = ρ_j e_{j−1} + sqrt(1 − ρ_j²) z_j`` (unit variance everywhere; corr(e_j, e_k) = ∏ρ between them)."""
    z = rng.standard_normal((n_samples, len(rho)))
    scale = np.sqrt(1.0 - rho**2)
    for j in range(1, len(rho)):
        z[:, j] = rho[j] * z[:, j - 1] + scale[j] * z[:, j]
    return z
