"""Ensemble accuracy under different combination rules (seed 000 Fig S3)."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from torch import Tensor

from coterie.metrics.classification import accuracy
from coterie.metrics.combine import RULES, combine

PAPER_RULES: tuple[str, ...] = ("mean", "geometric", "vote")


def rule_accuracies(logits: Tensor, y: Tensor, rules: Sequence[str] = RULES) -> dict[str, float]:
    """Accuracy of the ensemble under each rule: logits (N, M, C), labels (M,) → {rule: accuracy}."""
    return {r: float(accuracy(combine(logits, r), y)) for r in rules}  # type: ignore[arg-type]


def combination_table(df: pd.DataFrame, split: str = "test", rules: Sequence[str] = PAPER_RULES) -> pd.DataFrame:
    """Seed-mean ± std of ``{split}.ens_acc_<rule>`` per (N, β̄) for each rule, long format:
    columns ``N, beta_bar, rule, mean, std, count``."""
    frames = []
    for rule in rules:
        col = f"{split}.ens_acc_{rule}"
        if col not in df.columns:
            continue
        g = df.groupby(["N", "beta_bar"])[col].agg(["mean", "std", "count"]).reset_index()
        g.insert(2, "rule", rule)
        frames.append(g)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
