"""The three tasks of ``ldnn`` (seed 004): data splits, network factory, loss and validation metric."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from coterie.experiments.artifacts import ldnn as artifacts
from coterie.experiments.ldnn.config import LdnnConfig
from coterie.objectives.base import Objective
from coterie.objectives.independent import Independent
from coterie.objectives.regression import Regression
from coterie.training.predict import predict_outputs


class LdnnTask:
    """Data (on ``device``), model factory, loss and validation metric of one task.

    MNIST-1D: classification, splits of samples. Van der Pol / Hénon–Heiles: states (B, 2d) → derivatives (B, 2d),
    split by whole trajectory (``traj`` holds the simulation).
    """

    def __init__(self, cfg: LdnnConfig, device: torch.device) -> None:
        self.cfg = cfg
        self.device = device
        d = cfg.data
        self.traj = None
        if cfg.task == "mnist1d":
            from coterie.data import load_splits

            self.splits = load_splits(
                "mnist1d",
                split="random",
                val_fraction=d.val_fraction,
                test_fraction=d.test_fraction,
                seed=cfg.seed,
                num_samples=d.num_samples,
            )
        else:
            from coterie.data.physics import simulate_henon_heiles, simulate_vanderpol

            if cfg.task == "vanderpol":
                self.traj = simulate_vanderpol(d.trajectories, d.t_end, d.dt, seed=cfg.seed)
            else:
                self.traj = simulate_henon_heiles(d.energies, d.trajectories_per_energy, d.t_end, d.dt, seed=cfg.seed)
            self.splits = self.traj.split(d.val_fraction, d.test_fraction, cfg.seed)
        self.classification = cfg.task == "mnist1d"
        self.train = tuple(t.to(device) for t in self.splits.train.tensors())
        self.val = tuple(t.to(device) for t in self.splits.val.tensors())
        self.test = tuple(t.to(device) for t in self.splits.test.tensors())
        x = self.train[0]
        self.mean = x.mean(0).tolist()
        self.std = x.std(0).clamp_min(1e-6).tolist()
        self.out_scale = self.train[1].std(0).clamp_min(1e-6).tolist() if not self.classification else None

    @property
    def metric_name(self) -> str:
        return "accuracy" if self.classification else "mse"

    @property
    def higher_is_better(self) -> bool:
        return self.classification

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        """Cross-entropy, or the summed squared derivative error averaged over samples (eqs. 5 and 6)."""
        if self.classification:
            return nn.functional.cross_entropy(out, y)
        return ((out - y) ** 2).sum(dim=1).mean()

    def objective(self) -> Objective:
        """The same loss as :meth:`loss`, per member, for the Trainer (cross-entropy, or ``sse`` regression)."""
        return Independent() if self.classification else Regression("sse")

    @property
    def dims(self) -> dict[str, Any]:
        """The data-derived sizes :func:`coterie.experiments.artifacts.ldnn.build_network` needs."""
        if self.cfg.task == "mnist1d":
            return {"in": 40, "out": 10}
        return {"dim": self.train[0].shape[1] // 2, "mean": self.mean, "std": self.std, "out_scale": self.out_scale}

    def build(self, kind: str, activation: Any) -> nn.Module:
        """A fresh network of model ``kind`` (``nn`` or ``hnn``) with hidden ``activation`` (an ActivationSpec)."""
        return artifacts.build_network(self.cfg.task, kind, self.cfg.hidden, activation, self.dims)

    def evaluate(self, model: nn.Module, data: tuple[Tensor, ...]) -> float:
        """Accuracy, or the loss (MSE of eqs. 5–6), of ``model`` on ``data`` = (x, y), in evaluation mode."""
        x, y = data
        model.eval()  # left in evaluation mode
        out = predict_outputs(model, x.split(2048), x.device, out_device=None)
        if self.classification:
            return float((out.argmax(1) == y).float().mean())
        return float(self.loss(out, y))
