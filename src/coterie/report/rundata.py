"""Read what a run directory holds for the figures: history, final predictions, trajectory, member weights."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from coterie.analysis.trajectory import load_trajectory
from coterie.utils.rundir import RunDir


@dataclass
class RunData:
    """One run's artefacts (missing pieces are ``None`` / empty)."""

    path: Path
    config: dict[str, Any]
    results: dict[str, Any]
    history: list[dict[str, Any]]
    predictions: dict[str, np.ndarray] | None = None
    trajectory: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    _weights: dict[str, torch.Tensor] | None = field(default=None, repr=False)

    @property
    def beta_bar(self) -> float | None:
        return self.results.get("beta_bar")

    @property
    def n_members(self) -> int:
        return int(self.config.get("ensemble", {}).get("size", 0))

    def test_logits(self) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Final test logits (N, M, C) and labels (M,)."""
        if self.predictions is None:
            return None
        return torch.from_numpy(self.predictions["test_logits"]), torch.from_numpy(self.predictions["test_y"])

    def weights(self) -> dict[str, torch.Tensor]:
        """``{"members.<i>.<layer>.weight": tensor}`` from the last checkpoint (no model is built)."""
        if self._weights is None:
            from safetensors.torch import load_file

            ck = self.path / "checkpoints"
            index = ck / "last.json"
            self._weights = {}
            if index.exists():
                tensors = load_file(str(ck / json.loads(index.read_text())["tensors"]))
                self._weights = {
                    k[len("model/") :]: v
                    for k, v in tensors.items()
                    if k.startswith("model/") and k.endswith(".weight")
                }
        return self._weights

    def layer_weights(self, layer: str) -> list[np.ndarray]:
        """Flattened weights of ``layer`` for every member (Fig 6c)."""
        w = self.weights()
        return [
            w[f"members.{i}.{layer}.weight"].float().reshape(-1).numpy()
            for i in range(self.n_members)
            if f"members.{i}.{layer}.weight" in w
        ]


def load_run(path: str | Path) -> RunData:
    """Load a run directory written by ``coterie run`` / a sweep."""
    rd = RunDir(Path(path))
    cfg = yaml.safe_load((rd.path / "config.yaml").read_text()) if (rd.path / "config.yaml").exists() else {}
    results = rd.read_results() or {}
    preds = None
    if (rd.path / "predictions.npz").exists():
        with np.load(rd.path / "predictions.npz") as z:
            preds = {k: z[k] for k in z.files}
    return RunData(rd.path, cfg or {}, results, rd.read_metrics(), preds, load_trajectory(rd.path))
