"""Per-sample agreement between members (seed 000 Fig 5, Fig S5).

All functions take member logits (N, M, C) on held-out samples and labels (M,).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from coterie.metrics.classification import correct_voters, entropy
from coterie.metrics.combine import Rule, combine


def true_class_probabilities(logits: Tensor, y: Tensor, rule: Rule = "mean") -> tuple[Tensor, Tensor]:
    """p_i(y_true | x) per member (N, M) and p_ens(y_true | x) (M,) under ``rule`` (Fig 5a axes)."""
    probs = logits.softmax(-1)
    p_members = probs.gather(-1, y.view(1, -1, 1).expand(probs.shape[0], -1, 1)).squeeze(-1)
    p_ens = combine(logits, rule).gather(-1, y.view(-1, 1)).squeeze(-1)
    return p_members, p_ens


def member_entropies(logits: Tensor) -> Tensor:
    """H[p_i(y|x)] in nats per member and sample: (N, M) (Fig 5b, Fig S5)."""
    return entropy(logits.softmax(-1))


def entropy_histograms(logits: Tensor, bins: int = 20) -> tuple[np.ndarray, np.ndarray]:
    """Normalised histograms of member entropies on the common range [0, ln C]: counts (N, bins), edges (bins+1,).

    Entropies are clipped to [0, ln C] first: a uniform prediction's float32 entropy can round just above ln C and
    would otherwise fall outside the last bin (each row sums to 1)."""
    h_max = float(np.log(logits.shape[-1]))
    h = np.clip(member_entropies(logits).double().numpy(), 0.0, h_max)
    edges = np.linspace(0.0, h_max, bins + 1)
    counts = np.stack([np.histogram(row, bins=edges)[0] / max(1, row.size) for row in h])
    return counts, edges


def wall_fraction(p_members: Tensor, low: float = 0.2, high: float = 0.8) -> float:
    """Fraction of samples where one member gives p(y_true) ≥ ``high`` while another gives ≤ ``low`` (Fig 5a:
    samples on the 'walls' of the cube — specialisation)."""
    hi = (p_members >= high).any(0)
    lo = (p_members <= low).any(0)
    return float((hi & lo).float().mean())


@dataclass(frozen=True)
class VoterConfidence:
    """Ensemble confidence in the true class vs number of correct voters (Fig 5c)."""

    voters: np.ndarray  # (M,) correct-voter counts
    confidence: np.ndarray  # (M,) p_ens(y_true | x)
    ensemble_correct: np.ndarray  # (M,) bool
    spearman_r: float
    spearman_p: float
    rescued: int  # samples no member got right but the ensemble did


def confidence_vs_voters(logits: Tensor, y: Tensor, rule: Rule = "mean") -> VoterConfidence:
    """Spearman correlation between p_ens(y_true|x) and the number of members voting for y_true (Fig 5c)."""
    voters = correct_voters(logits, y).numpy()
    _, p_ens = true_class_probabilities(logits, y, rule)
    conf = p_ens.numpy()
    ens_correct = (combine(logits, rule).argmax(-1) == y).numpy()
    if np.ptp(voters) == 0 or np.ptp(conf) == 0:
        r, p = float("nan"), float("nan")
    else:
        res = stats.spearmanr(voters, conf)
        r, p = float(res.statistic), float(res.pvalue)
    rescued = int(((voters == 0) & ens_correct).sum())
    return VoterConfidence(voters, conf, ens_correct, r, p, rescued)


def decision_border_mask(logits: Tensor, y: Tensor, margin: int = 0) -> Tensor:
    """Samples near the ensemble's decision border (§3.4 boosting): those on which the number of correct voters is
    within ``margin`` of N/2 (N = 10, m = 0: exactly 5 of 10 vote correctly). Returns a bool mask (M,)."""
    n = logits.shape[0]
    v = correct_voters(logits, y)
    half = n / 2.0
    return (v.float() - half).abs() <= margin + (0.5 if n % 2 else 0.0)


def agreement_summary(logits: Tensor, y: Tensor) -> dict[str, float]:
    """Scalar summaries: mean member entropy, fraction of samples with member entropy < 0.1 nats, wall fraction
    (N = 2 reading of Fig 5a generalised to any N), Spearman r of Fig 5c and the rescued-sample count."""
    h = member_entropies(logits)
    p_members, _ = true_class_probabilities(logits, y)
    vc = confidence_vs_voters(logits, y)
    return {
        "member_entropy_mean": float(h.mean()),
        "member_low_entropy_fraction": float((h < 0.1).float().mean()),
        "wall_fraction": wall_fraction(p_members),
        "voters_spearman_r": vc.spearman_r,
        "rescued_samples": float(vc.rescued),
    }


__all__ = [
    "VoterConfidence",
    "agreement_summary",
    "confidence_vs_voters",
    "decision_border_mask",
    "entropy_histograms",
    "member_entropies",
    "true_class_probabilities",
    "wall_fraction",
]

_ = torch  # re-exported tensor type used in annotations
