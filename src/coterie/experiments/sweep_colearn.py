"""``experiment: colearn`` — the run a co-learning sweep executes: a ``train`` run plus the records the paper's
analyses need (seed 000 Figs 2–6, Tables S3–S4), all on held-out data.

Compared with ``experiment: train`` it

- records per epoch, on the validation split, member KL(q‖p_i), the (N+1)×(N+1) JS matrix between networks and the
  ensemble, activity statistics per layer, and logit snapshots of a fixed validation subset
  (:class:`coterie.analysis.trajectory.TrajectoryRecorder`);
- saves the final validation and test logits to ``predictions.npz`` (float32 (N, M, C) and labels (M,));
- adds ``analysis`` to ``results.json``: activity and weight statistics per layer and per member, and the per-sample
  agreement summaries (entropy, Fig 5c Spearman), computed on the **test** split (the paper's "held-out test data";
  nothing is selected on it), and the same agreement summaries on validation.

A run whose loss becomes non-finite (strong negative coupling: −β·KL(p_j‖p_i) is unbounded below) is not an error:
it is flagged ``diverged`` (with ``diverged_at_epoch``) in ``results.json`` and evaluated — validation and test
figures alike — at its last good state: the latest of (a) the end of the last epoch whose weights and validation
logits were all finite (an in-memory copy kept by :class:`LastFiniteState`), (b) the last on-disk checkpoint (a
resumed run), and (c) the initialisation (``evaluated_epoch`` = −1: the run never finished a finite epoch). The
weights in memory when the loss became non-finite are never evaluated: they are blown up (std ~1e10) or NaN.

Model selection across runs (the optimal β̄) uses the ``val`` figures; ``test`` figures are reported only.

Data order: as ``train`` (``data_order``, default shared: the coupling compares members on the same batch).

Like ``train``, a run writes ``final.safetensors`` (the evaluated state: the last epoch, or the last good state of a
diverged run) and ``best.safetensors`` (best validation ``best_metric``), and records the resolved model arguments
in ``config.yaml``; ``coterie.load(run_dir, which)`` returns the :class:`~coterie.Ensemble` in eval mode.
"""

from __future__ import annotations

import io
import logging
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field

from coterie.analysis.activity import layer_activity, weight_std
from coterie.analysis.agreement import agreement_summary
from coterie.analysis.trajectory import TrajectoryRecorder
from coterie.config import Strict, TrainConfig
from coterie.experiments.artifacts.colearn import save_diverged
from coterie.experiments.build import setup_train
from coterie.experiments.registry import register
from coterie.metrics import ensemble_summary
from coterie.report.curves import learning_curves
from coterie.training import checkpoint as ckpt
from coterie.training.best_weights import BEST, FINAL, BestWeights
from coterie.training.callbacks import Callback
from coterie.training.trainer import NonFiniteLossError
from coterie.utils.io import atomic_write_bytes
from coterie.utils.rundir import RunDir

log = logging.getLogger(__name__)


class AnalysisConfig(Strict):
    """What a ``colearn`` run records for the analyses."""

    trajectory_every: int = Field(default=1, ge=0, description="epochs between validation logit snapshots (0: none)")
    trajectory_samples: int = Field(default=256, ge=1, description="validation samples in each snapshot")
    activity_samples: int = Field(default=512, ge=1, description="validation samples for per-epoch activity stats")
    save_predictions: bool = True


class ColearnConfig(TrainConfig):
    """``experiment: colearn`` — a ``train`` run with the co-learning analysis records."""

    experiment: Literal["colearn"] = "colearn"  # type: ignore[assignment]
    analysis: AnalysisConfig = Field(default_factory=AnalysisConfig)


class LastFiniteState(Callback):
    """Keep a CPU copy of the ensemble's state at the end of the latest epoch whose parameters, buffers and
    validation logits are all finite; starts with the state given (the initialisation, epoch −1)."""

    def __init__(self, module: torch.nn.Module) -> None:
        self.epoch = -1
        self.state = self._copy(module)

    @staticmethod
    def _copy(module: torch.nn.Module) -> dict[str, torch.Tensor]:
        return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}

    def on_epoch_end(self, trainer: Any, epoch: int, record: dict[str, Any], val_logits: Any) -> None:
        ens = trainer.ensemble
        if not all(bool(torch.isfinite(v).all()) for v in ens.state_dict().values() if v.is_floating_point()):
            return
        if val_logits is not None and not bool(torch.isfinite(val_logits).all()):
            return
        self.epoch, self.state = epoch, self._copy(ens)


def coupling_of(cfg: TrainConfig) -> tuple[float | None, float | None]:
    """``(β̄, β)`` of a run with a uniform scalar coupling (β = β̄/N when ``normalize``); independent → (0, 0)."""
    if cfg.objective.name == "independent":
        return 0.0, 0.0
    beta = cfg.objective.params.get("beta", 0.0)
    if not isinstance(beta, (int, float)):
        return None, None
    n = cfg.ensemble.size
    if cfg.objective.params.get("normalize", False):
        return float(beta), float(beta) / n
    return float(beta) * n, float(beta)


def _npz_bytes(**arrays: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def _fit_or_diverge(
    trainer: Any, splits: Any, ensemble: Any, rundir: RunDir, last_finite: LastFiniteState
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Train; on a non-finite loss flag the run as diverged and restore its last good state. (history, diverged)."""
    diverged: dict[str, Any] | None = None
    try:
        history = trainer.fit(splits.train, splits.val)
    except NonFiniteLossError as e:
        # Strong negative coupling makes −β·KL(p_j‖p_i) unbounded below; training can blow up. That is a result:
        # flag the run as diverged and evaluate its last good state (see the module docstring).
        history = list(trainer.history)
        diverged = {"epoch": len(history), "message": str(e)}
        log.warning("run diverged: %s", e)
        disk = (
            ckpt.load_checkpoint(rundir.checkpoint_dir, ensemble)["epoch"]
            if ckpt.has_checkpoint(rundir.checkpoint_dir)
            else -1
        )
        if last_finite.epoch >= disk:
            ensemble.load_state_dict(last_finite.state)
        diverged["evaluated_epoch"] = max(last_finite.epoch, disk)
        save_diverged(rundir, ensemble, diverged["evaluated_epoch"])  # final.safetensors: the evaluated state
        if not history:
            history = [{"epoch": -1, "train_loss": [float("nan")] * len(ensemble), "train_seconds": 0.0}]
    return history, diverged


def _analysis(ensemble: Any, splits: Any, val_logits: Any, test_logits: Any) -> dict[str, Any]:
    """Agreement, activity and weight statistics of the trained members (test and validation)."""
    act = layer_activity(ensemble, splits.test.x)
    wstd = weight_std(ensemble)
    return {
        "test": {
            **agreement_summary(test_logits, splits.test.y),
            "inactive_fraction": {k: float(v["inactive_fraction"].mean()) for k, v in act.items()},
            "mean_activation": {k: float(v["mean_activation"].mean()) for k, v in act.items()},
            "mean_active_activation": {
                k: float(np.nanmean(v["mean_active_activation"].numpy())) for k, v in act.items()
            },
            "weight_std": {k: float(v.mean()) for k, v in wstd.items()},
        },
        "val": agreement_summary(val_logits, splits.val.y),
        "per_member": {
            "inactive_fraction": {k: v["inactive_fraction"].tolist() for k, v in act.items()},
            "mean_activation": {k: v["mean_activation"].tolist() for k, v in act.items()},
            "weight_std": {k: v.tolist() for k, v in wstd.items()},
        },
    }


@register("colearn", ColearnConfig, "train an ensemble and record the co-learning analyses (seed 000)")
def run_colearn(cfg: ColearnConfig, rundir: RunDir) -> dict[str, Any]:
    """Train with the trajectory recorder, then compute final analyses (see module docstring)."""
    splits, ensemble, trainer = setup_train(cfg, rundir)
    a = cfg.analysis
    recorder = TrajectoryRecorder(
        splits.val.x,
        splits.val.y,
        rundir.path,
        a.trajectory_every,
        a.trajectory_samples,
        a.activity_samples,
        seed=cfg.seed,
    )
    last_finite = LastFiniteState(ensemble)
    best = BestWeights(rundir.path, cfg.best_metric)  # best.safetensors per epoch, final.safetensors at the end
    trainer.callbacks = [*trainer.callbacks, recorder, last_finite, best]
    history, diverged = _fit_or_diverge(trainer, splits, ensemble, rundir, last_finite)
    val_logits = trainer.predict(splits.val.x)
    test_logits = trainer.predict(splits.test.x)
    if a.save_predictions:
        atomic_write_bytes(
            rundir.path / "predictions.npz",
            _npz_bytes(
                val_logits=val_logits.numpy(),
                val_y=splits.val.y.numpy(),
                test_logits=test_logits.numpy(),
                test_y=splits.test.y.numpy(),
            ),
        )
    test = ensemble_summary(test_logits, splits.test.y)
    analysis = _analysis(ensemble, splits, val_logits, test_logits)
    beta_bar, beta = coupling_of(cfg)
    title = f"{cfg.objective.name} β̄={beta_bar} · N={cfg.ensemble.size} · {cfg.model.name} on {cfg.data.name}"
    rundir.save_figure(learning_curves(history, title), "learning_curves.png")
    last = history[-1]
    if diverged is not None:  # validation figures at the evaluated state, like the test figures
        last = {f"val_{k}": v for k, v in ensemble_summary(val_logits, splits.val.y).items()}
    return {
        "experiment": "colearn",
        "epochs": cfg.epochs,
        "n_members": len(ensemble),
        "beta_bar": beta_bar,
        "beta": beta,
        "executor": ensemble.resolved_executor,
        "parameters_per_member": sum(p.numel() for p in ensemble.members[0].parameters()),
        "val": {
            k[4:]: v
            for k, v in last.items()
            if k.startswith("val_") and not isinstance(v, dict) and k not in ("val_js_matrix",)
        },
        "test": test,
        "analysis": analysis,
        "train_seconds": sum(r["train_seconds"] for r in history),
        "diverged": diverged is not None,
        "diverged_at_epoch": diverged["epoch"] if diverged else None,
        "evaluated_epoch": diverged.get("evaluated_epoch") if diverged else cfg.epochs - 1,
        "best": best.summary(),
        "weights": {"final": FINAL, "best": BEST},
    }
