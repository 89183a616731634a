"""The evaluation protocol under several scoring rules: agrees with one-rule runs, scores one crafting per rule,
and MIM's decay is a setting (μ = 1 differs from seed 002's 0.01)."""

from __future__ import annotations

import pytest
import torch

import coterie
from coterie.attacks import (
    AttackSettings,
    mim,
    predict,
    transfer_accuracies,
    transfer_accuracy,
    whitebox_accuracies,
    whitebox_accuracy,
)
from coterie.attacks.bim import iterate
from coterie.attacks.mim import DEFAULT_DECAY, PAPER_DECAY


def _ens(seed: int) -> coterie.Ensemble:
    return coterie.Ensemble.from_factory("cnn1d", 3, seed=seed, channels=(4, 8), hidden=16, input_length=16).eval()


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return torch.rand(24, 16, generator=g), torch.randint(0, 10, (24,), generator=g)


@pytest.mark.parametrize("attack", ["fgsm", "mim", "pgd"])
def test_multi_rule_transfer_equals_one_rule_runs(attack: str) -> None:
    targets, surrogate = {"a": _ens(1), "b": _ens(2)}, _ens(3)
    x, y = _data()
    st = AttackSettings(steps=3, restarts=2)
    both = transfer_accuracies(
        targets,
        surrogate,
        x,
        y,
        attack,
        0.1,
        st,
        torch.Generator().manual_seed(4),  # type: ignore[arg-type]
        rules=["vote", "mean"],
    )
    for rule in ("vote", "mean"):
        one = transfer_accuracy(
            targets,
            surrogate,
            x,
            y,
            attack,
            0.1,  # type: ignore[arg-type]
            AttackSettings(steps=3, restarts=2, rule=rule),  # type: ignore[arg-type]
            torch.Generator().manual_seed(4),
        )
        assert both[rule] == one


@pytest.mark.parametrize("attack", ["bim", "pgd"])
def test_multi_rule_whitebox_equals_one_rule_runs(attack: str) -> None:
    target = _ens(5)
    x, y = _data()
    both = whitebox_accuracies(
        target,
        x,
        y,
        attack,
        0.1,
        AttackSettings(steps=3, restarts=3, batch_size=10),  # type: ignore[arg-type]
        torch.Generator().manual_seed(6),
        rules=["vote", "mean"],
    )
    for rule in ("vote", "mean"):
        st = AttackSettings(steps=3, restarts=3, batch_size=10, rule=rule)  # type: ignore[arg-type]
        assert both[rule] == whitebox_accuracy(
            target,
            x,
            y,
            attack,
            0.1,
            st,  # type: ignore[arg-type]
            torch.Generator().manual_seed(6),
        )


def test_clean_scores_follow_each_rule() -> None:
    target = _ens(7)
    x, y = _data()
    acc = whitebox_accuracies(target, x, y, "fgsm", 0.0, rules=["vote", "mean"])
    for rule in ("vote", "mean"):
        assert acc[rule] == pytest.approx(float((predict(target, x, rule) == y).float().mean()))


def test_mim_decay_is_a_setting() -> None:
    """μ = 1 (the MIM paper) is MIM's literal momentum iteration; it differs from μ = 0.01 (seed 002)."""
    assert (DEFAULT_DECAY, PAPER_DECAY) == (0.01, 1.0)
    target = _ens(8)
    x, y = _data()
    a = mim(target, x, y, 0.1, steps=6, decay=PAPER_DECAY)
    b = mim(target, x, y, 0.1, steps=6, decay=DEFAULT_DECAY)
    assert not torch.equal(a, b)
    assert torch.equal(a, iterate(target, x, y, 0.1, x, 6, 0.02, "mean_prob", "ce", decay=1.0))
    assert AttackSettings(decay=1.0).kwargs("mim")["decay"] == 1.0
