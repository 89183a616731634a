"""Member-interaction losses. Each maps ``(ensemble, x, y)`` to per-member losses (N,) and named terms."""

from coterie.objectives import adp, colearning, dverge, gal, independent, parl  # noqa: F401
from coterie.objectives.adp import ADP
from coterie.objectives.base import (
    OBJECTIVES,
    Objective,
    ObjectiveOutput,
    create,
    get,
    member_cross_entropy,
    names,
    register,
)
from coterie.objectives.colearning import CoLearning
from coterie.objectives.dverge import DVERGE
from coterie.objectives.gal import GAL
from coterie.objectives.independent import Independent
from coterie.objectives.parl import PARL

__all__ = [
    "ADP",
    "DVERGE",
    "GAL",
    "OBJECTIVES",
    "PARL",
    "CoLearning",
    "Independent",
    "Objective",
    "ObjectiveOutput",
    "create",
    "get",
    "member_cross_entropy",
    "names",
    "register",
]
