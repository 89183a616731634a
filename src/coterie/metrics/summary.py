"""One call that computes the per-epoch validation figures the Trainer logs."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from coterie.metrics.calibration import expected_calibration_error
from coterie.metrics.classification import accuracy as single_accuracy
from coterie.metrics.classification import brier_score, member_accuracy, nll
from coterie.metrics.combine import RULES, combine
from coterie.metrics.divergence import mean_pairwise_js


def ensemble_summary(logits: Tensor, y: Tensor) -> dict[str, Any]:
    """Member and ensemble figures from member logits (N, B, C) and labels (B,).

    Returns a flat dict: ``member_acc`` (list of N), ``member_acc_mean``, ``ens_acc_<rule>`` for every combination
    rule, ``nll``, ``ece``, ``brier`` (of the mean-rule ensemble), ``member_nll_mean`` and ``mean_js``.
    """
    probs = logits.softmax(-1)
    p_ens = probs.mean(0)
    macc = member_accuracy(logits, y)
    out: dict[str, Any] = {"member_acc": macc.tolist(), "member_acc_mean": float(macc.mean())}
    for rule in RULES:
        out[f"ens_acc_{rule}"] = float(single_accuracy(combine(logits, rule), y))
    out["nll"] = float(nll(p_ens, y))
    out["ece"] = float(expected_calibration_error(p_ens, y))
    out["brier"] = float(brier_score(p_ens, y))
    out["member_nll_mean"] = float(nll(probs, y).mean())
    out["mean_js"] = float(mean_pairwise_js(probs))
    return out
