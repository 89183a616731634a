"""Functional distances between networks and the ensemble (seed 000 eq. 5, Fig 2b, Fig 4).

d(n_i, n_j) = mean over held-out samples of JS(p_i ‖ p_j). The ensemble is treated as one more "network" whose
distribution is p_ens (eq. 4), so that networks and ensemble can be embedded together (Fig 4b).
"""

from __future__ import annotations

import torch
from torch import Tensor

from coterie.metrics.classification import nll
from coterie.metrics.divergence import js_divergence_matrix


def js_matrix(logits: Tensor) -> Tensor:
    """Pairwise functional dissimilarity d(n_i, n_j) (Fig 4a): logits (N, M, C) → (N, N)."""
    return js_divergence_matrix(logits.float().softmax(-1))


def js_matrix_with_ensemble(logits: Tensor) -> Tensor:
    """d between the N networks and the mean-rule ensemble (last row/column): logits (N, M, C) → (N+1, N+1)."""
    probs = logits.float().softmax(-1)
    return js_divergence_matrix(torch.cat([probs, probs.mean(0, keepdim=True)], 0))


def member_kl_to_target(logits: Tensor, y: Tensor) -> Tensor:
    """KL(q ‖ p_i) per member with one-hot q, i.e. the member's NLL of the true class: (N, M, C) → (N,) (Fig 2b)."""
    return nll(logits.float().softmax(-1), y)


def trajectory_distances(logits_per_epoch: Tensor) -> Tensor:
    """JS distances between every (epoch, network-or-ensemble) pair along training (Fig 4b input).

    Args:
        logits_per_epoch: (T, N, M, C) member logits on the same M held-out samples at T points of training.

    Returns:
        (T·(N+1), T·(N+1)) distance matrix; point ``t·(N+1) + i`` is network i (i = N: the ensemble) at time t.
    """
    t, n = logits_per_epoch.shape[:2]
    probs = logits_per_epoch.float().softmax(-1)
    pts = torch.cat([probs, probs.mean(1, keepdim=True)], 1)  # (T, N+1, M, C)
    return js_divergence_matrix(pts.reshape(t * (n + 1), *pts.shape[2:]))
