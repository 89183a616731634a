"""Ensembles of N members with outputs (N, B, C), combination rules, and member executors."""

from coterie.ensemble.combine import RULES, combine
from coterie.ensemble.ensemble import Ensemble

__all__ = ["RULES", "Ensemble", "combine"]
