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

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import Tensor, nn

from coterie.attacks.bim import DEFAULT_STEPS, bim
from coterie.attacks.core import Head, LossName, ScoreRule, check_args, predict
from coterie.attacks.fgsm import fgsm
from coterie.attacks.mim import DEFAULT_DECAY, mim
from coterie.attacks.pgd import DEFAULT_RESTARTS, pgd

AttackName = Literal["fgsm", "bim", "mim", "pgd"]
ATTACKS: dict[str, Callable[..., Tensor]] = {"fgsm": fgsm, "bim": bim, "mim": mim, "pgd": pgd}


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
        raise ValueError(f"unknown attack {attack!r}; choose from {sorted(ATTACKS)}")
    check_args(x, eps, settings.head, settings.loss, settings.steps, settings.step_size)


def _batches(n: int, size: int) -> list[slice]:
    return [slice(i, min(n, i + size)) for i in range(0, n, size)]


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
    """Black-box accuracy of every target on examples crafted on ``surrogate``.

    Args:
        targets: name → target model/Ensemble (eval mode).
        surrogate: the model/Ensemble the adversary owns (eval mode).
        x: clean samples (M, ...) in [0, 1]; y: labels (M,).
        attack: ``fgsm``, ``bim``, ``mim`` or ``pgd``; eps: L∞ radius in [0, 1].

    Returns:
        name → accuracy in [0, 1].
    """
    _check(attack, eps, x, settings)
    instances = settings.restarts if attack == "pgd" else 1
    robust = {name: torch.ones(x.shape[0], dtype=torch.bool) for name in targets}
    fn = ATTACKS[attack]
    for sl in _batches(x.shape[0], settings.batch_size):
        xb, yb = x[sl], y[sl]
        for _ in range(instances):
            kw = settings.kwargs(attack)
            if attack == "pgd":
                kw.update(restarts=1, generator=generator)
            adv = fn(surrogate, xb, yb, eps, **kw) if eps > 0 else xb
            for name, target in targets.items():
                robust[name][sl] &= (predict(target, adv, settings.rule) == yb).cpu()
            if eps == 0:
                break
    return {name: float(r.float().mean()) for name, r in robust.items()}


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
    _check(attack, eps, x, settings)
    fn = ATTACKS[attack]
    correct = 0
    for sl in _batches(x.shape[0], settings.batch_size):
        xb, yb = x[sl], y[sl]
        kw = settings.kwargs(attack)
        if attack == "pgd":
            kw.update(restarts=settings.restarts, judge=target, rule=settings.rule, generator=generator)
        adv = fn(target, xb, yb, eps, **kw) if eps > 0 else xb
        correct += int((predict(target, adv, settings.rule) == yb).sum())
    return correct / max(1, x.shape[0])
