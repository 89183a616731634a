"""Accuracy, likelihood and agreement metrics on member outputs (N, B, C).

Functions that take ``logits`` accept logits or probabilities where only the arg-max matters (accuracy,
disagreement); functions that take ``probs`` need probabilities (``logits.softmax(-1)``).
"""

from __future__ import annotations

import torch
from torch import Tensor

from coterie.metrics.combine import Rule, combine


def _check_members(t: Tensor) -> None:
    if t.dim() != 3:
        raise ValueError(f"member outputs must have shape (N, B, C), got {tuple(t.shape)}")


def member_accuracy(logits: Tensor, y: Tensor) -> Tensor:
    """Fraction of correct arg-max predictions per member: logits (N, B, C), y (B,) → (N,)."""
    _check_members(logits)
    return (logits.argmax(-1) == y.unsqueeze(0)).float().mean(1)


def accuracy(probs: Tensor, y: Tensor) -> Tensor:
    """Accuracy of one predictor: probs or logits (B, C), y (B,) → scalar."""
    return (probs.argmax(-1) == y).float().mean()


def ensemble_accuracy(logits: Tensor, y: Tensor, rule: Rule = "mean") -> Tensor:
    """Accuracy of the ensemble combined under ``rule``: logits (N, B, C) → scalar."""
    return accuracy(combine(logits, rule), y)


def nll(probs: Tensor, y: Tensor, eps: float = 1e-12) -> Tensor:
    """Mean negative log-likelihood of the true class: probs (B, C) or (N, B, C) → scalar or (N,)."""
    p_true = probs.gather(-1, y.expand(probs.shape[:-1]).unsqueeze(-1)).squeeze(-1)
    return -(p_true.clamp_min(eps).log()).mean(-1)


def brier_score(probs: Tensor, y: Tensor) -> Tensor:
    """Mean over samples of Σ_c (p_c − 1[y=c])²: probs (B, C) or (N, B, C) → scalar or (N,)."""
    onehot = torch.nn.functional.one_hot(y, probs.shape[-1]).to(probs.dtype)
    return ((probs - onehot) ** 2).sum(-1).mean(-1)


def entropy(probs: Tensor, eps: float = 1e-12) -> Tensor:
    """Per-sample Shannon entropy in nats: probs (..., C) → (...)."""
    return -(probs * probs.clamp_min(eps).log()).sum(-1)


def disagreement(logits: Tensor) -> Tensor:
    """Fraction of samples on which members i and j predict different classes: (N, B, C) → (N, N)."""
    _check_members(logits)
    pred = logits.argmax(-1)
    return (pred.unsqueeze(1) != pred.unsqueeze(0)).float().mean(-1)


def correct_voters(logits: Tensor, y: Tensor) -> Tensor:
    """Number of members that classify each sample correctly: (N, B, C), (B,) → (B,) integer counts."""
    _check_members(logits)
    return (logits.argmax(-1) == y.unsqueeze(0)).sum(0)
