"""Training and per-seed analysis of the ``ldnn`` arms (pure types, the mix, fixed baselines).

An arm's S networks (one per evaluation seed) train together through the :class:`~coterie.Trainer` as an Ensemble
of S independent members with ``data_order: per_member``: member s sees its own seeded data order, exactly as if it
were trained alone, and the arms share the seeds' initial weights and data orders, so they compare pairwise per seed.
Each arm trains in its own sub-directory of the run (``arms/<task>-<kind>-<arm>/``: metrics.jsonl, checkpoints), so
an interrupted run resumes each arm where it stopped.

Compared with the seed-batched loop this replaced (same Adam, same per-network losses): minibatches follow the
Trainer's per-member epoch orders (a fresh seeded permutation per epoch, the last batch possibly short) instead of an
endless stream that dropped short batches, ``eval.steps`` is rounded up to whole epochs, and the reported training
loss is the mean over the last epoch (was: over the last 10 % of steps). So numbers differ from earlier runs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from coterie.ensemble.ensemble import Ensemble
from coterie.experiments.ldnn.config import AnalysisSettings, EvalSettings
from coterie.experiments.ldnn.curves import ValMetricCurve, curves_from_history
from coterie.experiments.ldnn.task import LdnnTask
from coterie.models.base import capture_features
from coterie.training.callbacks import Callback
from coterie.training.trainer import Trainer


def arm_epochs(steps: int, n_train: int, batch_size: int) -> int:
    """Whole epochs covering at least ``steps`` minibatch steps over ``n_train`` samples (the last batch may be
    short)."""
    return max(1, math.ceil(steps / math.ceil(n_train / batch_size)))


def arm_trainer(
    models: list[nn.Module],
    task: LdnnTask,
    ev: EvalSettings,
    data_seed: int,
    run_dir: Path | None = None,
    progress: bool = True,
    callbacks: Sequence[Callback] = (),
) -> Trainer:
    """The Trainer of one arm: Adam at ``ev.lr`` (``ev.schedule``: constant or cosine), batches of ``ev.batch_size``,
    ``ev.steps`` rounded up to epochs, member s on its own order (stream s of ``data_seed``), checkpoints about every
    tenth of the run."""
    epochs = arm_epochs(ev.steps, task.train[0].shape[0], ev.batch_size)
    return Trainer(
        Ensemble(models, executor="loop"),
        task.objective(),
        optimizer="adam",
        lr=ev.lr,
        schedule=ev.schedule,
        epochs=epochs,
        batch_size=ev.batch_size,
        seed=data_seed,
        device=str(task.device),
        data_order="per_member",
        run_dir=run_dir,
        checkpoint_every=max(1, epochs // 10),
        progress=progress,
        callbacks=callbacks,
    )


def fit_arm(
    models: list[nn.Module],
    task: LdnnTask,
    ev: EvalSettings,
    data_seed: int,
    run_dir: Path | None = None,
    callbacks: Sequence[Callback] = (),
) -> tuple[list[float], list[list[float]]]:
    """Train ``models`` in place (see :func:`arm_trainer`), recording every network's validation metric after each
    epoch (:class:`~coterie.experiments.ldnn.curves.ValMetricCurve`, also in the arm's metrics.jsonl as
    ``val_<metric>``). ``callbacks``: extra Trainer callbacks (e.g. the TensorBoard logger of ``log.tensorboard``).
    (each network's mean training loss over the last epoch, curves [network][epoch])."""
    trainer = arm_trainer(models, task, ev, data_seed, run_dir, callbacks=[ValMetricCurve(task), *callbacks])
    history = trainer.fit(task.train)
    return [float(v) for v in history[-1]["train_loss"]], curves_from_history(history, task.metric_name)


def analyse_seed(
    model: nn.Module, task: LdnnTask, an: AnalysisSettings, s: int, hessian_data: tuple[torch.Tensor, ...]
) -> tuple[dict[str, Any], Any]:
    """Validation and test metric and participation ratio of one trained network; for the first
    ``an.hessian_seeds`` seeds also the Hessian trace and SLQ spectral density. (record, density or None)."""
    from coterie.metrics import hessian_spectral_density, hessian_trace, participation_ratio

    rec: dict[str, Any] = {
        f"val_{task.metric_name}": task.evaluate(model, task.val),
        f"test_{task.metric_name}": task.evaluate(model, task.test),
    }
    _, feats = capture_features(model, task.val[0][:2000], ["body.act1"])
    rec["participation_ratio"] = float(participation_ratio(feats["body.act1"]))
    if s >= an.hessian_seeds:
        return rec, None
    model.eval()
    rec["hessian_trace"] = hessian_trace(model, task.loss, hessian_data, probes=an.hessian_probes, seed=s)
    sd = hessian_spectral_density(model, task.loss, hessian_data, an.slq_iterations, an.slq_runs, seed=s)
    rec.update(
        near_zero_fraction=sd.fraction_near_zero(an.near_zero_tol), eig_min=sd.eig_range[0], eig_max=sd.eig_range[1]
    )
    return rec, sd
