"""Plots (matplotlib, Agg backend) and tables."""

from coterie.report.curves import learning_curves

__all__ = ["learning_curves"]
