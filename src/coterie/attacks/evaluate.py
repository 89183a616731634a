"""The evaluation protocol of seed 002 §5.3: accuracy under black-box transfer and white-box attacks.

* Black-box (zero-knowledge adversary A_Z): examples are crafted on a separately trained *surrogate* ensemble and
  scored on each target. For PGD with R restarts, R independent random-start instances are crafted on the surrogate
  and a sample counts as robust only if the target classifies every instance correctly. The instances do not
  depend on the target, so one crafting pass serves every target (:func:`transfer_accuracy`).
* White-box (perfect-knowledge adversary A_P): examples are crafted on the target itself
  (:func:`whitebox_accuracy`); PGD's restarts are judged by the target.

Accuracy is the fraction of the given samples whose ``rule`` prediction (seed 002: majority ``vote``) is the true
label on the adversarial input; samples misclassified when clean count as failures too (ε = 0 gives clean accuracy).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from coterie.attacks.bim import DEFAULT_STEPS
from coterie.attacks.core import Head, LossName, ScoreRule, check_args, predict
from coterie.attacks.mim import DEFAULT_DECAY
from coterie.attacks.pgd import DEFAULT_RESTARTS
from coterie.attacks.registry import ATTACKS

AttackName = Literal["fgsm", "bim", "mim", "pgd"]


@dataclass(frozen=True)
class AttackSettings:
    """Attack hyper-parameters (defaults: seed 002 §5.1). ``step_size=None`` means ε/5."""

    steps: int = DEFAULT_STEPS
    step_size: float | None = None
    decay: float = DEFAULT_DECAY
    restarts: int = DEFAULT_RESTARTS
    head: Head = "mean_prob"
    loss: LossName = "ce"
    rule: ScoreRule = "vote"
    batch_size: int = 500

    def kwargs(self, attack: str) -> dict[str, Any]:
        """Keyword arguments of ``attack`` (one PGD restart: restarts are handled by the protocol)."""
        kw: dict[str, Any] = {"head": self.head, "loss": self.loss}
        if attack in ("bim", "mim", "pgd"):
            kw.update(steps=self.steps, step_size=self.step_size)
        if attack == "mim":
            kw["decay"] = self.decay
        return kw


def _check(attack: str, eps: float, x: Tensor, settings: AttackSettings) -> None:
    if attack not in ATTACKS:
        raise ValueError(f"unknown attack {attack!r}; choose from {ATTACKS.names()}")
    check_args(x, eps, settings.head, settings.loss, settings.steps, settings.step_size)


def _batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


def transfer_accuracies(
    targets: Mapping[str, nn.Module],
    surrogate: nn.Module,
    x: Tensor,
    y: Tensor,
    attack: AttackName,
    eps: float,
    settings: AttackSettings = AttackSettings(),
    generator: torch.Generator | None = None,
    rules: Sequence[ScoreRule] | None = None,
) -> dict[str, dict[str, float]]:
    """Black-box accuracy of every target on examples crafted on ``surrogate``, under several scoring rules.

    The examples do not depend on the target or the rule, so one crafting pass serves all of them.

    Args:
        targets: name → target model/Ensemble (eval mode).
        surrogate: the model/Ensemble the adversary owns (eval mode).
        x: clean samples (M, ...) in [0, 1]; y: labels (M,).
        attack: ``fgsm``, ``bim``, ``mim`` or ``pgd``; eps: L∞ radius in [0, 1].
        rules: the scoring rules (default: ``settings.rule`` alone).

    Returns:
        rule → name → accuracy in [0, 1].
    """
    _check(attack, eps, x, settings)
    rules = tuple(rules) if rules else (settings.rule,)
    instances = settings.restarts if attack == "pgd" else 1
    robust = {r: {name: torch.ones(x.shape[0], dtype=torch.bool) for name in targets} for r in rules}
    fn = ATTACKS[attack]
    for sl in _batches(x.shape[0], settings.batch_size):
        xb, yb = x[sl], y[sl]
        for _ in range(instances):
            kw = settings.kwargs(attack)
            if attack == "pgd":
                kw.update(restarts=1, generator=generator)
            adv = fn(surrogate, xb, yb, eps, **kw) if eps > 0 else xb
            for name, target in targets.items():
                for r in rules:
                    robust[r][name][sl] &= (predict(target, adv, r) == yb).cpu()
            if eps == 0:
                break
    return {r: {name: float(v.float().mean()) for name, v in robust[r].items()} for r in rules}


def transfer_accuracy(
    targets: Mapping[str, nn.Module],
    surrogate: nn.Module,
    x: Tensor,
    y: Tensor,
    attack: AttackName,
    eps: float,
    settings: AttackSettings = AttackSettings(),
    generator: torch.Generator | None = None,
) -> dict[str, float]:
    """Black-box accuracy (name → accuracy in [0, 1]) under ``settings.rule``; see :func:`transfer_accuracies`."""
    return transfer_accuracies(targets, surrogate, x, y, attack, eps, settings, generator)[settings.rule]


def whitebox_accuracies(
    target: nn.Module,
    x: Tensor,
    y: Tensor,
    attack: AttackName,
    eps: float,
    settings: AttackSettings = AttackSettings(),
    generator: torch.Generator | None = None,
    rules: Sequence[ScoreRule] | None = None,
) -> dict[str, float]:
    """Accuracy of ``target`` on examples crafted on itself, per scoring rule (rule → accuracy in [0, 1]).

    FGSM, BIM and MIM examples do not depend on the rule: crafted once, scored under every rule. PGD's restarts are
    judged by the target under the rule being scored, so PGD is run once per rule, every run from the same random
    starts (the generator's state is replayed).
    """
    _check(attack, eps, x, settings)
    rules = tuple(rules) if rules else (settings.rule,)
    fn = ATTACKS[attack]
    state = generator.get_state() if generator is not None else None
    correct = dict.fromkeys(rules, 0)
    for sl in _batches(x.shape[0], settings.batch_size):
        xb, yb = x[sl], y[sl]
        if attack != "pgd" or eps == 0:
            adv = fn(target, xb, yb, eps, **settings.kwargs(attack)) if eps > 0 else xb
            for r in rules:
                correct[r] += int((predict(target, adv, r) == yb).sum())
            continue
        for r in rules:
            if generator is not None and state is not None:
                generator.set_state(state)
            kw = {**settings.kwargs(attack), "restarts": settings.restarts, "judge": target, "rule": r}
            adv = fn(target, xb, yb, eps, generator=generator, **kw)
            correct[r] += int((predict(target, adv, r) == yb).sum())
        state = generator.get_state() if generator is not None else None
    return {r: c / max(1, x.shape[0]) for r, c in correct.items()}


def whitebox_accuracy(
    target: nn.Module,
    x: Tensor,
    y: Tensor,
    attack: AttackName,
    eps: float,
    settings: AttackSettings = AttackSettings(),
    generator: torch.Generator | None = None,
) -> float:
    """Accuracy of ``target`` on examples crafted on itself (PGD restarts judged by the target), in [0, 1]."""
    return whitebox_accuracies(target, x, y, attack, eps, settings, generator)[settings.rule]
