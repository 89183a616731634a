"""The attack registry: name → ``attack(model, x, y, eps, **kwargs) -> x_adv`` (inputs in [0, 1]).

:data:`ATTACKS` (a :class:`~coterie.utils.registry.Registry`) holds FGSM, BIM, MIM and PGD; the evaluation protocol
(:mod:`coterie.attacks.evaluate`), ``coterie attack`` and the robustness experiment look attacks up here.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor

from coterie.attacks.bim import bim
from coterie.attacks.fgsm import fgsm
from coterie.attacks.mim import mim
from coterie.attacks.pgd import pgd
from coterie.utils.registry import Registry

ATTACKS: Registry[Callable[..., Tensor]] = Registry("attack")
ATTACKS.add("fgsm", fgsm)
ATTACKS.add("bim", bim)
ATTACKS.add("mim", mim)
ATTACKS.add("pgd", pgd)
