"""Figures without pyplot, so that neither importing coterie nor drawing a plot touches process-wide state.

pyplot keeps a global figure registry and a global backend (``matplotlib.use``); a library that calls them changes
the state of whatever program imported it (an interactive session, a notebook, a GUI). coterie instead draws on
:class:`matplotlib.figure.Figure` objects, which need no backend: ``Figure.savefig`` renders PNG/SVG/PDF through
matplotlib's own canvases, and a figure nobody references is garbage-collected like any object.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] | None = None, **kwargs: Any) -> Any:
    """``(fig, axes)`` like ``pyplot.subplots`` (same ``squeeze``/``sharex``/``sharey``/... keywords), but the
    figure is a plain :class:`Figure`, registered nowhere."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def release(fig: Figure) -> None:
    """Drop ``fig`` from pyplot's registry if a caller made it with pyplot (a no-op for plain figures; pyplot is
    not imported here just to ask)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(fig)


def save_figure(fig: Figure, path: Path | str, **kwargs: Any) -> Path:
    """``fig.savefig(path, **kwargs)``, then :func:`release`; returns the path."""
    fig.savefig(path, **kwargs)
    release(fig)
    return Path(path)
