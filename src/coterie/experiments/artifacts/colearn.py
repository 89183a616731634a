"""Weights of ``experiment: colearn`` when a run diverges.

A ``colearn`` run writes ``best.safetensors`` / ``final.safetensors`` through the Trainer callback
:class:`~coterie.training.best_weights.BestWeights`, like ``train``, and ``coterie.load`` rebuilds its
:class:`~coterie.Ensemble` with the default loader (the config has ``model`` / ``ensemble`` sections). When the loss
becomes non-finite, ``fit`` stops before the callback writes ``final.safetensors``: :func:`save_diverged` then writes
the state the run's figures were computed on (its last good state) as ``final.safetensors``, and as
``best.safetensors`` too when no epoch finished.
"""

from __future__ import annotations

from torch import nn

from coterie.training.best_weights import BEST, FINAL, save_weights
from coterie.utils.rundir import RunDir


def save_diverged(rundir: RunDir, ensemble: nn.Module, evaluated_epoch: int) -> None:
    """Write the evaluated (last finite) state of a diverged run as ``final.safetensors`` (and ``best`` if none)."""
    meta = {"epoch": evaluated_epoch, "diverged": True}
    save_weights(rundir.path / FINAL, ensemble, meta)
    if not (rundir.path / BEST).is_file():
        save_weights(rundir.path / BEST, ensemble, {**meta, "note": "no finite epoch: the evaluated state"})
