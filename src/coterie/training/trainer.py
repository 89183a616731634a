"""One Trainer for every objective. It knows nothing about the members or the loss: the objective maps a batch to
per-member losses (N,), the Trainer sums those of the members that update and steps one optimiser.

Per epoch it logs, on validation data, every member's accuracy, the ensemble's accuracy under each combination rule,
NLL, ECE, Brier and the mean pairwise JS divergence (see :func:`coterie.metrics.ensemble_summary`), writes
``metrics.jsonl`` and an atomic ``.safetensors`` checkpoint when it has a run directory, and can resume from it with
the same numbers as an uninterrupted run (data order and objective randomness derive from ``(seed, epoch)``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from coterie.data.dataset import TensorData
from coterie.ensemble.ensemble import Ensemble
from coterie.ensemble.packing import unpack_members
from coterie.experiments.rundir import RunDir
from coterie.metrics.summary import ensemble_summary
from coterie.objectives.base import Objective
from coterie.training import checkpoint as ckpt
from coterie.training import distributed as dist_mod
from coterie.training.callbacks import Callback
from coterie.training.optim import OptimizerName, ScheduleName, build_optimizer, schedule_factor, set_lr
from coterie.utils.device import resolve_device
from coterie.utils.progress import progress_bar

log = logging.getLogger(__name__)

DataArg = TensorData | tuple[Tensor, Tensor]


class NonFiniteLossError(RuntimeError):
    """A member's loss became NaN or infinite; the message names epoch, step and member."""


def as_tensors(data: DataArg) -> tuple[Tensor, Tensor]:
    """``(x, y)`` from a :class:`TensorData` or a pair of tensors."""
    if isinstance(data, TensorData):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise TypeError(f"data must be TensorData or an (x, y) pair of tensors, got {type(data).__name__}")


def batch_indices(n: int, batch_size: int, generator: torch.Generator | None) -> Iterator[Tensor]:
    """Shuffled (or, without a generator, sequential) index batches covering ``range(n)``."""
    order = torch.randperm(n, generator=generator) if generator is not None else torch.arange(n)
    for start in range(0, n, batch_size):
        yield order[start : start + batch_size]


def epoch_generator(seed: int, epoch: int, stream: int = 0) -> torch.Generator:
    """A generator determined by (seed, epoch, stream) alone, so resumed runs draw the same numbers."""
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 7919 + stream)


@torch.no_grad()
@contextlib.contextmanager
def _unpacked_at_exit(ensemble: nn.Module) -> Iterator[None]:
    """Training packs identical MLP members' parameters into shared storage (coterie.ensemble.packing); give them
    storage of their own again when training ends or fails, so the trained members are ordinary modules."""
    try:
        yield
    finally:
        unpack_members([ensemble])


def predict_logits(ensemble: Ensemble, x: Tensor, batch_size: int = 4096, device: torch.device | None = None) -> Tensor:
    """Member logits (N, M, C) for all M inputs, in evaluation mode and without autograd, batch by batch."""
    was_training = ensemble.training
    ensemble.eval()
    device = device or next(ensemble.parameters()).device
    try:
        with torch.no_grad():  # no graph: validation and prediction never differentiate these logits
            outs = [ensemble(x[i : i + batch_size].to(device)).cpu() for i in range(0, x.shape[0], batch_size)]
    finally:
        ensemble.train(was_training)
    return torch.cat(outs, 1)


@dataclass
class Trainer:
    """Train an :class:`~coterie.Ensemble` under an :class:`~coterie.objectives.Objective`.

    Args:
        ensemble: the members; outputs (N, B, C).
        objective: maps ``(ensemble, x, y)`` to per-member losses (N,).
        optimizer: ``sgd`` (momentum, weight decay, nesterov), ``adam`` or ``adamw``.
        lr, momentum, weight_decay, nesterov, betas: optimiser settings.
        schedule: ``constant``, ``cosine`` (annealed to 0 over ``epochs``) or ``step`` (``step_size``, ``gamma``).
        epochs, batch_size: training length and mini-batch size.
        eval_batch_size: batch size for validation passes.
        seed: seeds data order and the objective's per-epoch randomness.
        device: ``auto``, ``cpu`` or ``cuda``.
        frozen: indices of members that never update (kept in evaluation mode; add-freeze expansion).
        run_dir: where to write ``metrics.jsonl`` and checkpoints; ``None`` keeps everything in memory.
        checkpoint_every: epochs between checkpoints (the last epoch is always saved).
        callbacks: objects with ``on_epoch_end`` / ``on_fit_end`` hooks (see :mod:`coterie.training.callbacks`).
        progress: show a rich progress bar when attached to a terminal.
        max_steps_per_epoch: cap on optimisation steps per epoch (for quick runs).
        distributed: shard the members over the current ``torch.distributed`` process group (see
            :mod:`coterie.training.distributed`); ``None`` (default) does so whenever a group of more than one
            process is initialised. Only rank 0 writes metrics and checkpoints; after ``fit`` every process holds
            every trained member and the ensemble runs unsharded again.
    """

    ensemble: Ensemble
    objective: Objective
    optimizer: OptimizerName = "sgd"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    nesterov: bool = False
    betas: tuple[float, float] = (0.9, 0.999)
    schedule: ScheduleName = "constant"
    step_size: int = 30
    gamma: float = 0.1
    epochs: int = 10
    batch_size: int = 128
    eval_batch_size: int = 4096
    seed: int = 0
    device: str = "auto"
    frozen: Sequence[int] = ()
    run_dir: Path | str | None = None
    checkpoint_every: int = 1
    callbacks: Sequence[Callback] = ()
    progress: bool = True
    max_steps_per_epoch: int | None = None
    distributed: bool | None = None
    history: list[dict[str, Any]] = field(default_factory=list, init=False)

    # ------------------------------------------------------------------ setup
    def _active_members(self) -> list[int]:
        n = len(self.ensemble)
        bad = [i for i in self.frozen if not 0 <= i < n]
        if bad:
            raise ValueError(f"frozen member indices {bad} out of range for an ensemble of {n}")
        return [i for i in range(n) if i not in set(self.frozen)]

    def _prepare(self) -> tuple[torch.device, list[int], torch.optim.Optimizer]:
        device = resolve_device(self.device)
        self.ensemble.to(device)
        if self.distributed or (self.distributed is None and dist_mod.is_active()):
            if getattr(self.ensemble, "sharding", None) is None:
                dist_mod.attach(self.ensemble)
        active = self._active_members()
        for i, m in enumerate(self.ensemble.members):
            m.requires_grad_(i in active)
        params = [p for i in active for p in self.ensemble.members[i].parameters()]
        opt = build_optimizer(
            params, self.optimizer, self.lr, self.momentum, self.weight_decay, self.nesterov, tuple(self.betas)
        )
        return device, active, opt

    def _set_modes(self, active: list[int]) -> None:
        self.ensemble.train()
        for i, m in enumerate(self.ensemble.members):
            if i not in active:
                m.eval()

    @property
    def rundir(self) -> RunDir | None:
        return RunDir(Path(self.run_dir)) if self.run_dir is not None else None

    # ------------------------------------------------------------------ API
    def fit(self, train: DataArg, val: DataArg | None = None, resume: bool = True) -> list[dict[str, Any]]:
        """Train for ``epochs`` epochs; returns the per-epoch records (also in ``self.history``).

        With a run directory that holds a checkpoint and ``resume=True``, training continues after the last
        completed epoch and reproduces the uninterrupted run's numbers.

        Raises:
            NonFiniteLossError: a member's loss is NaN or infinite (the last good checkpoint is kept).
        """
        x_tr, y_tr = as_tensors(train)
        val_t = as_tensors(val) if val is not None else None
        device, active, opt = self._prepare()
        sharding = getattr(self.ensemble, "sharding", None)
        rd = self.rundir if sharding is None or sharding.rank == 0 else None
        start_epoch = 0
        self.history = []
        if rd is not None and resume and ckpt.has_checkpoint(rd.checkpoint_dir):
            index = ckpt.load_checkpoint(rd.checkpoint_dir, self.ensemble, opt)
            start_epoch = index["epoch"] + 1
            self.history = index.get("history", [])
            rd.truncate_metrics(lambda r: r.get("epoch", -1) < start_epoch)
            log.info("resuming %s after epoch %d", rd.path, index["epoch"])
        elif rd is not None and rd.metrics_path.exists():
            rd.truncate_metrics(lambda r: False)
        if sharding is not None:  # everyone continues from rank 0's checkpoint (or from the common start)
            start_epoch, self.history = sharding.broadcast_object((start_epoch, self.history))
            sharding.sync_members(list(self.ensemble.members), src=0)
            sharding.sync_optimizer_state(opt, list(self.ensemble.members), src=0)

        with progress_bar(self.progress) as bar, _unpacked_at_exit(self.ensemble):
            task = bar.add_task("training", total=self.epochs, completed=start_epoch)
            for epoch in range(start_epoch, self.epochs):
                record = self._run_epoch(epoch, x_tr, y_tr, device, active, opt)
                val_logits = None
                if val_t is not None:
                    val_logits = predict_logits(self.ensemble, val_t[0], self.eval_batch_size, device)
                    record.update({f"val_{k}": v for k, v in ensemble_summary(val_logits, val_t[1]).items()})
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, record, val_logits)
                self.history.append(record)
                if rd is not None:
                    rd.log_metrics(record)
                save = (epoch + 1) % self.checkpoint_every == 0 or epoch + 1 == self.epochs
                if sharding is not None and save:  # complete every member on every process
                    sharding.sync_members(list(self.ensemble.members))
                    sharding.sync_optimizer_state(opt, list(self.ensemble.members))
                if rd is not None and save:
                    ckpt.save_checkpoint(rd.checkpoint_dir, epoch, self.ensemble, opt, {"history": self.history})
                desc = f"epoch {epoch + 1}/{self.epochs}"
                if "val_ens_acc_mean" in record:
                    desc += f" val ens {record['val_ens_acc_mean']:.3f}"
                bar.update(task, advance=1, description=desc)
        if sharding is not None:  # every member is complete everywhere now: later calls need no collectives
            self.ensemble.sharding = None
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.history

    def _run_epoch(
        self, epoch: int, x: Tensor, y: Tensor, device: torch.device, active: list[int], opt: torch.optim.Optimizer
    ) -> dict[str, Any]:
        lr = set_lr(opt, self.lr, schedule_factor(self.schedule, epoch, self.epochs, self.step_size, self.gamma))
        self.objective.on_epoch_start(epoch, self.ensemble, epoch_generator(self.seed, epoch, stream=1))
        self._set_modes(active)
        g = epoch_generator(self.seed, epoch)
        n = len(self.ensemble)
        loss_sum = torch.zeros(n)
        term_sums: dict[str, Tensor] = {}
        steps = 0
        t0 = time.perf_counter()
        for step, idx in enumerate(batch_indices(x.shape[0], self.batch_size, g)):
            if self.max_steps_per_epoch is not None and step >= self.max_steps_per_epoch:
                break
            xb, yb = x[idx].to(device, non_blocking=True), y[idx].to(device, non_blocking=True)
            out = self.objective(self.ensemble, xb, yb)
            losses = out.losses
            finite = torch.isfinite(losses.detach())
            if not bool(finite.all()):
                member = int((~finite).nonzero()[0])
                where = f" in {self.rundir.checkpoint_dir}" if self.rundir is not None else ""
                raise NonFiniteLossError(
                    f"non-finite loss {float(losses.detach()[member]):.4g} at epoch {epoch}, step {step}, "
                    f"member {member}; "
                    f"training stopped, the last good checkpoint{where} is kept"
                )
            opt.zero_grad(set_to_none=True)
            losses[active].sum().backward()
            opt.step()
            loss_sum += losses.detach().cpu()
            for k, v in out.terms.items():
                v = v.detach().cpu().float()
                term_sums[k] = term_sums.get(k, torch.zeros_like(v)) + v
            steps += 1
        record: dict[str, Any] = {
            "epoch": epoch,
            "lr": lr,
            "train_loss": (loss_sum / max(1, steps)).tolist(),
            "train_seconds": time.perf_counter() - t0,
        }
        for k, v in term_sums.items():
            record[f"train_{k}"] = (v / max(1, steps)).tolist()
        return record

    def predict(self, x: Tensor) -> Tensor:
        """Member logits (N, M, C) in evaluation mode."""
        return predict_logits(self.ensemble, x, self.eval_batch_size)

    def evaluate(self, data: DataArg) -> dict[str, Any]:
        """:func:`coterie.metrics.ensemble_summary` on ``data``."""
        x, y = as_tensors(data)
        return ensemble_summary(self.predict(x), y)
