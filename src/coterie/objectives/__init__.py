"""Member-interaction losses. Each maps ``(ensemble, x, y)`` to per-member losses (N,) and named terms."""

from coterie.objectives import adp, colearning, dverge, gal, independent, parl  # noqa: F401  # noqa: F401
from coterie.objectives.base import Objective, ObjectiveOutput, create, member_cross_entropy, names, register
from coterie.objectives.colearning import CoLearning
from coterie.objectives.independent import Independent

__all__ = [
    "CoLearning",
    "Independent",
    "Objective",
    "ObjectiveOutput",
    "create",
    "member_cross_entropy",
    "names",
    "register",
]
