"""Multidimensional scaling of networks from functional distances (seed 000 Fig 4b)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats
from scipy.spatial.distance import pdist, squareform


@dataclass(frozen=True)
class Embedding:
    """An MDS embedding and how faithfully it keeps the input distances."""

    points: np.ndarray  # (P, dim)
    stress: float
    pearson_r: float  # correlation between input distances and embedding distances (upper triangle)
    pearson_p: float


def mds_embedding(distances: np.ndarray, dim: int = 2, seed: int = 0, metric: bool = True) -> Embedding:
    """Embed points given a symmetric dissimilarity matrix (P, P) with scikit-learn's SMACOF MDS.

    Returns the embedding (P, dim) and the Pearson correlation between d and the embedding distances, the figure
    the paper quotes for Fig 4b (r = 0.78 … 0.98).
    """
    from sklearn.manifold import MDS

    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1]:
        raise ValueError(f"distances must be square (P, P), got {d.shape}")
    d = 0.5 * (d + d.T)
    np.fill_diagonal(d, 0.0)
    common = {"n_components": dim, "random_state": seed, "max_iter": 500}
    try:  # scikit-learn >= 1.8: ``metric`` names the dissimilarity, ``metric_mds`` the MDS kind
        mds = MDS(metric="precomputed", metric_mds=metric, init="classical_mds", n_init=1, **common)
    except TypeError:  # older scikit-learn
        mds = MDS(dissimilarity="precomputed", metric=metric, n_init=4, **common)
    pts = mds.fit_transform(d)
    r, p = embedding_distance_correlation(d, pts)
    return Embedding(pts, float(mds.stress_), r, p)


def embedding_distance_correlation(distances: np.ndarray, points: np.ndarray) -> tuple[float, float]:
    """Pearson r (and p) between the upper triangle of ``distances`` and the pairwise distances of ``points``."""
    iu = np.triu_indices(distances.shape[0], 1)
    a = np.asarray(distances)[iu]
    b = squareform(pdist(points))[iu]
    if a.size < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan"), float("nan")
    res = stats.pearsonr(a, b)
    return float(res.statistic), float(res.pvalue)
