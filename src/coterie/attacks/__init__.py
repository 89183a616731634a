"""L∞ adversarial attacks on models and ensembles (inputs in [0, 1]) and the seed 002 evaluation protocol.

``fgsm(model, x, y, eps)``, ``bim``, ``mim`` and ``pgd`` return adversarial inputs of x's shape; the target is any
model returning (B, C) logits or an Ensemble returning (N, B, C). See :mod:`coterie.attacks.core` for the attacked
head (``mean_prob``, ``mean_logit``, ``mean_ce``), the loss (``ce``, ``cw``) and the scoring rule.
"""

from coterie.attacks.bim import bim
from coterie.attacks.core import HEADS, LOSSES, attack_loss, input_gradient, member_logits, predict, project
from coterie.attacks.evaluate import (
    AttackSettings,
    transfer_accuracies,
    transfer_accuracy,
    whitebox_accuracies,
    whitebox_accuracy,
)
from coterie.attacks.fgsm import fgsm
from coterie.attacks.mim import mim
from coterie.attacks.pgd import pgd, random_start
from coterie.attacks.registry import ATTACKS

__all__ = [
    "ATTACKS",
    "HEADS",
    "LOSSES",
    "AttackSettings",
    "attack_loss",
    "bim",
    "fgsm",
    "input_gradient",
    "member_logits",
    "mim",
    "pgd",
    "predict",
    "project",
    "random_start",
    "transfer_accuracies",
    "transfer_accuracy",
    "whitebox_accuracies",
    "whitebox_accuracy",
]
