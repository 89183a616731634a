"""Ensembles of N members with outputs (N, B, C), combination rules, and member executors."""

from coterie.ensemble.ensemble import Ensemble
from coterie.metrics.combine import RULES, combine

__all__ = ["RULES", "Ensemble", "combine"]
