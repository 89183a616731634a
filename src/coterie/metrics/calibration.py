"""Expected calibration error (Guo et al. 2017) with equal-width confidence bins."""

from __future__ import annotations

import torch
from torch import Tensor


def expected_calibration_error(probs: Tensor, y: Tensor, bins: int = 15) -> Tensor:
    """ECE = Σ_b (|B_b| / n) · |acc(B_b) − conf(B_b)| over ``bins`` equal-width bins of max-probability.

    Args:
        probs: predicted probabilities (B, C).
        y: labels (B,).
        bins: number of bins on [0, 1].

    Returns:
        scalar tensor in [0, 1].
    """
    if probs.dim() != 2:
        raise ValueError(f"probs must have shape (B, C), got {tuple(probs.shape)}")
    conf, pred = probs.max(-1)
    correct = (pred == y).to(probs.dtype)
    # bin index: (lo, hi] intervals, confidence 0 falls in the first bin
    idx = torch.clamp(torch.ceil(conf * bins).long() - 1, 0, bins - 1)
    count = torch.zeros(bins, dtype=probs.dtype, device=probs.device).index_add_(0, idx, torch.ones_like(conf))
    conf_sum = torch.zeros_like(count).index_add_(0, idx, conf)
    acc_sum = torch.zeros_like(count).index_add_(0, idx, correct)
    gap = (acc_sum - conf_sum).abs()
    return gap.sum() / probs.shape[0]
