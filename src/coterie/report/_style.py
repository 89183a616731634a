"""Shared figure helpers: Agg backend and a consistent colour per coupling regime."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.colors import Colormap


def regime_color(beta_bar: float) -> str:
    """Red for negative coupling, grey for independent, blue for positive (seed 000 Fig 1 colours)."""
    if beta_bar < 0:
        return "tab:red"
    if beta_bar > 0:
        return "tab:blue"
    return "dimgray"


def cmap(name: str = "viridis") -> Colormap:
    return plt.get_cmap(name)


def regime_label(beta_bar: float) -> str:
    return f"β̄ = {beta_bar:+g}" + (" (independent)" if beta_bar == 0 else "")
