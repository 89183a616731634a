"""Pairwise KL and Jensen–Shannon divergence matrices between members (natural log)."""

from __future__ import annotations

import math

import torch
from torch import Tensor

LN2 = math.log(2.0)


def _xlogy_ratio(p: Tensor, q: Tensor, eps: float) -> Tensor:
    # Σ_c p log(p/q) with 0·log 0 = 0; (..., C) → (...)
    return torch.where(p > 0, p * (p.clamp_min(eps).log() - q.clamp_min(eps).log()), torch.zeros_like(p)).sum(-1)


def kl_divergence_matrix(probs: Tensor, eps: float = 1e-12) -> Tensor:
    """K[i, j] = mean over samples of KL(p_i ‖ p_j): probs (N, B, C) → (N, N), zero diagonal."""
    if probs.dim() != 3:
        raise ValueError(f"probs must have shape (N, B, C), got {tuple(probs.shape)}")
    p = probs.unsqueeze(1)  # (N, 1, B, C)
    q = probs.unsqueeze(0)  # (1, N, B, C)
    return _xlogy_ratio(p, q, eps).mean(-1)


def js_divergence(p: Tensor, q: Tensor, eps: float = 1e-12) -> Tensor:
    """Per-sample Jensen–Shannon divergence (nats, in [0, ln 2]): (..., C), (..., C) → (...)."""
    m = 0.5 * (p + q)
    return (0.5 * _xlogy_ratio(p, m, eps) + 0.5 * _xlogy_ratio(q, m, eps)).clamp(0.0, LN2)


def js_divergence_matrix(probs: Tensor, eps: float = 1e-12) -> Tensor:
    """Seed 000 eq. (5): d(n_i, n_j) = mean over samples of JS(p_i ‖ p_j). probs (N, B, C) → (N, N), symmetric."""
    if probs.dim() != 3:
        raise ValueError(f"probs must have shape (N, B, C), got {tuple(probs.shape)}")
    n = probs.shape[0]
    out = torch.zeros(n, n, dtype=probs.dtype, device=probs.device)
    for i in range(n):  # row by row keeps memory at O(N·B·C)
        out[i] = js_divergence(probs[i].unsqueeze(0), probs, eps).mean(-1)
    return 0.5 * (out + out.T)


def mean_pairwise_js(probs: Tensor) -> Tensor:
    """Mean of d(n_i, n_j) over pairs i ≠ j (0 for a single member): (N, B, C) → scalar."""
    n = probs.shape[0]
    if n < 2:
        return torch.zeros((), dtype=probs.dtype)
    d = js_divergence_matrix(probs)
    return d.sum() / (n * (n - 1))
