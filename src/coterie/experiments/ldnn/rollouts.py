"""Rollouts of a trained physics network (seed 004, Figs 5–6): energy along Euler and leapfrog integrations."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from coterie.experiments.ldnn.config import LdnnConfig
from coterie.experiments.ldnn.task import LdnnTask


def rollout_energies(
    cfg: LdnnConfig, task: LdnnTask, kind: str, model: nn.Module
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Euler and leapfrog rollouts of ``model`` from the first validation orbit's start.

    Returns the maximal absolute drifts (true H for Hénon–Heiles; learned H for a Hamiltonian network) and the
    energy series (steps + 1,) for the figure.
    """
    from coterie.data.physics import henon_heiles_hamiltonian
    from coterie.models.hnn import rollout

    an = cfg.analysis
    x0 = task.val[0][:1]
    model.eval()
    series: dict[str, np.ndarray] = {}
    out: dict[str, Any] = {}
    for method in ("euler", "leapfrog"):
        traj = rollout(model, x0, an.rollout_dt, an.rollout_steps, method)[:, 0]
        if cfg.task == "henonheiles":
            e = henon_heiles_hamiltonian(traj.cpu()).numpy()
            series[f"true H, {method}"] = e
            out[f"true_energy_max_abs_drift_{method}"] = float(np.abs(e - e[0]).max())
        if kind == "hnn":
            with torch.no_grad():
                h = model.hamiltonian(traj).cpu().numpy()  # type: ignore[operator]
            series[f"learned H, {method}"] = h
            out[f"learned_energy_max_abs_drift_{method}"] = float(np.abs(h - h[0]).max())
    return out, series
