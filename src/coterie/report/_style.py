"""Shared figure helpers: a consistent colour per coupling regime (figures are drawn without pyplot:
:mod:`coterie.utils.figures`)."""

from __future__ import annotations

import matplotlib
from matplotlib.colors import Colormap


def regime_color(beta_bar: float) -> str:
    """Red for negative coupling, grey for independent, blue for positive (seed 000 Fig 1 colours)."""
    if beta_bar < 0:
        return "tab:red"
    if beta_bar > 0:
        return "tab:blue"
    return "dimgray"


def cmap(name: str = "viridis") -> Colormap:
    return matplotlib.colormaps[name]


def regime_label(beta_bar: float) -> str:
    return f"β̄ = {beta_bar:+g}" + (" (independent)" if beta_bar == 0 else "")
