"""Rules that combine member outputs (N, B, C) into one ensemble distribution (B, C)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

Rule = Literal["mean", "geometric", "vote", "logit_mean"]
RULES: tuple[str, ...] = ("mean", "geometric", "vote", "logit_mean")


def combine(logits: Tensor, rule: Rule = "mean") -> Tensor:
    """Ensemble class probabilities from member logits.

    Args:
        logits: member logits, shape (N, B, C).
        rule: ``mean`` — average of member probabilities, seed 000 eq. (4); ``geometric`` — normalised geometric
            mean of member probabilities (softmax of the mean log-probability); ``vote`` — fraction of members whose
            arg-max is each class (majority vote; ties resolve to the lowest class index under arg-max);
            ``logit_mean`` — softmax of the mean logit.

    Returns:
        Probabilities of shape (B, C), rows summing to 1.
    """
    if logits.dim() != 3:
        raise ValueError(f"member outputs must have shape (N, B, C), got {tuple(logits.shape)}")
    if rule == "mean":
        return logits.softmax(-1).mean(0)
    if rule == "geometric":
        return logits.log_softmax(-1).mean(0).softmax(-1)
    if rule == "vote":
        n, _, c = logits.shape
        votes = torch.nn.functional.one_hot(logits.argmax(-1), c).to(logits.dtype)
        return votes.sum(0) / n
    if rule == "logit_mean":
        return logits.mean(0).softmax(-1)
    raise ValueError(f"unknown combination rule {rule!r}; choose from {RULES}")
