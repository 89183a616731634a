"""One Trainer for every objective. It knows nothing about the members or the loss: the objective maps a batch to
per-member losses (N,), the Trainer sums those of the members that update and steps one optimiser.

Per epoch it logs, on validation data, every member's accuracy, the ensemble's accuracy under each combination rule,
NLL, ECE, Brier and the mean pairwise JS divergence (see :func:`coterie.metrics.ensemble_summary`), writes
``metrics.jsonl`` and an atomic ``.safetensors`` checkpoint when it has a run directory, and can resume from it with
the same numbers as an uninterrupted run (data order and objective randomness derive from ``(seed, epoch)``).

Data comes as tensors, a Dataset or a DataLoader (:mod:`coterie.training.data_source`), in a shared or per-member
seeded order, optionally bootstrapped (:mod:`coterie.training.batch_order`); training batches may be augmented on the
device; the learning rate follows a torch scheduler (:mod:`coterie.training.schedules`); the step may run in mixed
precision (:mod:`coterie.training.amp`).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from coterie.data.dataset import TensorData
from coterie.ensemble.ensemble import Ensemble
from coterie.ensemble.packing import unpack_members
from coterie.metrics.summary import ensemble_summary
from coterie.objectives.base import Objective
from coterie.training import checkpoint as ckpt
from coterie.training import distributed as dist_mod
from coterie.training.amp import Amp, AmpName, check_amp
from coterie.training.batch_order import DATA_ORDERS, DataOrder, batch_indices, epoch_generator
from coterie.training.callbacks import Callback
from coterie.training.data_source import BatchPlan, DataSource, as_source
from coterie.training.input_checks import check_labels, output_classes
from coterie.training.optim import OptimizerName, build_optimizer, check_optimizer_name
from coterie.training.predict import predict_logits, predict_source
from coterie.training.schedules import ScheduleName, build_scheduler, check_milestones
from coterie.utils.device import resolve_device
from coterie.utils.progress import progress_bar
from coterie.utils.rundir import RunDir

log = logging.getLogger(__name__)

DataArg = Any  # (x, y) tensors, TensorData, a Dataset of (x, y) items, or a DataLoader / re-iterable of batches
Augment = Callable[[Tensor, torch.Generator], Tensor]
__all__ = [
    "NonFiniteLossError",
    "Trainer",
    "as_tensors",
    "batch_indices",
    "epoch_generator",
    "predict_logits",
    "predict_source",
]


class NonFiniteLossError(RuntimeError):
    """A member's loss became NaN or infinite; the message names epoch, step and member."""


def as_tensors(data: DataArg) -> tuple[Tensor, Tensor]:
    """``(x, y)`` from a :class:`TensorData` or a pair of tensors."""
    if isinstance(data, TensorData):
        return data.x, data.y
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    raise TypeError(f"data must be TensorData or an (x, y) pair of tensors, got {type(data).__name__}")


@torch.no_grad()
@contextlib.contextmanager
def _unpacked_at_exit(ensemble: nn.Module) -> Iterator[None]:
    """Training packs identical MLP members' parameters into shared storage (coterie.ensemble.packing); give them
    storage of their own again when training ends or fails, so the trained members are ordinary modules."""
    try:
        yield
    finally:
        unpack_members([ensemble])


@dataclass
class Trainer:
    """Train an :class:`~coterie.Ensemble` under an :class:`~coterie.objectives.Objective`.

    Args:
        ensemble: the members; outputs (N, B, C).
        objective: maps ``(ensemble, x, y)`` to per-member losses (N,).
        optimizer: ``sgd`` (momentum, weight decay, nesterov), ``adam`` or ``adamw``.
        lr, momentum, weight_decay, nesterov, betas: optimiser settings.
        schedule: ``constant``, ``cosine`` (annealed to 0 over ``epochs``), ``step`` (``step_size``, ``gamma``) or
            ``multistep`` (``milestones``, ``gamma``); ``warmup_epochs`` > 0 multiplies a linear warmup in
            (:mod:`coterie.training.schedules`). Stepped per epoch; its state is checkpointed.
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
        data_order: ``shared`` (every member sees the same batch, co-learning's setting) or ``per_member`` (member
            i its own seeded shuffle, as independently trained networks; needs an objective that supports it).
        bootstrap: draw each epoch with replacement (bagging): one resample for all members under ``shared``, one
            per member under ``per_member``.
        augment: ``aug(x, generator) -> x`` applied to training batches only, on the device, with a CPU generator
            seeded by (seed, epoch) (e.g. :func:`coterie.data.augment.build_augment`); never to validation.
        amp: ``off``, ``bf16`` or ``fp16`` (CUDA only; loss-scaled) mixed precision for the training step.
        loader_workers: worker processes that load a map-style Dataset's batches (0, the default: in this process).
            In-process loading is the default because fetching an in-memory item costs microseconds while a worker
            process takes CPU from the training threads on a small machine (2 cores: in process 1.0-1.05x the
            tensor path, one worker 1.03-1.1x; docs/performance.md). Raise it when items are slow to produce
            (decoded from disk) and the machine has cores to spare. The batches are the same either way.
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
    milestones: Sequence[int] = ()
    warmup_epochs: int = 0
    data_order: DataOrder = "shared"
    bootstrap: bool = False
    augment: Augment | None = None
    amp: AmpName = "off"
    loader_workers: int = 0
    history: list[dict[str, Any]] = field(default_factory=list, init=False)
    #: a callback sets it in ``on_epoch_end`` to end ``fit`` after that epoch (early stopping, time limits); the
    #: epoch's record is logged and its checkpoint written first. Reset by every ``fit``.
    should_stop: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        if self.data_order not in DATA_ORDERS:
            raise ValueError(f"unknown data_order {self.data_order!r}; choose from {DATA_ORDERS}")
        if self.data_order == "per_member" and not self.objective.supports_per_member:
            raise ValueError(
                f"objective {self.objective.name!r} couples the members on the same samples and needs "
                "data_order='shared'; data_order='per_member' works with objectives that support it (independent)"
            )
        check_optimizer_name(self.optimizer)  # at construction, not first at fit
        check_amp(self.amp)
        check_milestones(self.schedule, self.milestones)
        if self.loader_workers < 0:
            raise ValueError(f"loader_workers must be >= 0, got {self.loader_workers}")

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

        ``train`` and ``val``: (x, y) tensors, :class:`~coterie.data.TensorData`, a torch ``Dataset`` of (x, y)
        items, or a ``DataLoader`` / re-iterable of (x, y) batches. With a run directory that holds a checkpoint and
        ``resume=True``, training continues after the last completed epoch and reproduces the uninterrupted run's
        numbers (for a user's DataLoader: from the epoch boundary, in the loader's own order).

        Raises:
            TypeError, ValueError: bad data (not (x, y) pairs, labels outside [0, C), inputs that do not fit the
                members) or a data order the data or objective cannot serve, before the first step.
            NonFiniteLossError: a member's loss is NaN or infinite (the last good checkpoint is kept).
        """
        device, active, opt = self._prepare()
        self.should_stop = False
        pin = device.type == "cuda"
        source = as_source(train, batch_size=self.batch_size, workers=self.loader_workers, pin_memory=pin)
        val_source = None
        if val is not None:
            val_source = as_source(
                val, batch_size=self.eval_batch_size, workers=self.loader_workers, pin_memory=pin, role="validation"
            )
        self._check_order(source)
        self._num_classes, self._check_batch_labels = self._check_inputs(source, val_source, device)
        sched = build_scheduler(
            opt, self.schedule, self.epochs, self.step_size, self.gamma, self.milestones, self.warmup_epochs
        )
        amp = Amp(self.amp, device)
        sharding = getattr(self.ensemble, "sharding", None)
        rd = self.rundir if sharding is None or sharding.rank == 0 else None
        start_epoch = self._resume(rd, resume, opt, sched, amp, source)
        if sharding is not None:  # everyone continues from rank 0's checkpoint (or from the common start)
            start_epoch, self.history, st = sharding.broadcast_object((start_epoch, self.history, sched.state_dict()))
            sched.load_state_dict(st)
            sharding.sync_members(list(self.ensemble.members), src=0)
            sharding.sync_optimizer_state(opt, list(self.ensemble.members), src=0)
        for group, lr in zip(opt.param_groups, sched.get_last_lr()):
            group["lr"] = lr
        plan = BatchPlan(
            self.seed, self.batch_size, self.data_order, self.bootstrap, len(self.ensemble), self.max_steps_per_epoch
        )
        with progress_bar(self.progress) as bar, _unpacked_at_exit(self.ensemble):
            task = bar.add_task("training", total=self.epochs, completed=start_epoch)
            for epoch in range(start_epoch, self.epochs):
                record = self._run_epoch(epoch, source, plan, device, active, opt, amp)
                sched.step()
                val_logits = None
                if val_source is not None:
                    val_logits, val_y = predict_source(self.ensemble, val_source, self.eval_batch_size, device)
                    record.update({f"val_{k}": v for k, v in ensemble_summary(val_logits, val_y).items()})
                for cb in self.callbacks:
                    cb.on_epoch_end(self, epoch, record, val_logits)
                self.history.append(record)
                if rd is not None:
                    rd.log_metrics(record)
                save = (epoch + 1) % self.checkpoint_every == 0 or epoch + 1 == self.epochs or self.should_stop
                if sharding is not None and save:  # complete every member on every process
                    sharding.sync_members(list(self.ensemble.members))
                    sharding.sync_optimizer_state(opt, list(self.ensemble.members))
                if rd is not None and save:
                    extra = {"history": self.history, "scheduler": sched.state_dict(), "amp_scaler": amp.state_dict()}
                    extra["data"] = {"order": self.data_order, "bootstrap": self.bootstrap, "seed": self.seed}
                    ckpt.save_checkpoint(rd.checkpoint_dir, epoch, self.ensemble, opt, extra)
                desc = f"epoch {epoch + 1}/{self.epochs}"
                if "val_ens_acc_mean" in record:
                    desc += f" val ens {record['val_ens_acc_mean']:.3f}"
                bar.update(task, advance=1, description=desc)
                if self.should_stop:
                    break
        if sharding is not None:  # every member is complete everywhere now: later calls need no collectives
            self.ensemble.sharding = None
        for cb in self.callbacks:
            cb.on_fit_end(self)
        return self.history

    def _resume(
        self,
        rd: RunDir | None,
        resume: bool,
        opt: torch.optim.Optimizer,
        sched: torch.optim.lr_scheduler.LRScheduler,
        amp: Amp,
        source: DataSource,
    ) -> int:
        """Restore the last checkpoint (model, optimiser, scheduler, loss scale, history); the first epoch to run."""
        self.history = []
        if rd is None or not resume or not ckpt.has_checkpoint(rd.checkpoint_dir):
            if rd is not None and rd.metrics_path.exists():
                rd.truncate_metrics(lambda r: False)
            return 0
        index = ckpt.load_checkpoint(rd.checkpoint_dir, self.ensemble, opt)
        start_epoch = index["epoch"] + 1
        self.history = index.get("history", [])
        if "scheduler" in index:
            sched.load_state_dict(index["scheduler"])
        else:  # a checkpoint written before schedulers were checkpointed: the closed form gives the same state
            for _ in range(start_epoch):
                sched.step()
        amp.load_state_dict(index.get("amp_scaler") or {})
        rd.truncate_metrics(lambda r: r.get("epoch", -1) < start_epoch)
        log.info("resuming %s after epoch %d", rd.path, index["epoch"])
        if not source.exact_order:
            log.warning(
                "resuming with a user DataLoader: training restarts at the boundary of epoch %d in the loader's own "
                "batch order, which the checkpoint cannot replay (tensors or a Dataset resume exactly)",
                start_epoch,
            )
        return start_epoch

    def _check_order(self, source: DataSource) -> None:
        if (self.data_order == "per_member" or self.bootstrap) and not source.exact_order:
            raise ValueError(
                f"data_order={self.data_order!r} with bootstrap={self.bootstrap} needs tensors or a map-style "
                "Dataset (the Trainer draws the order); a DataLoader or iterable serves batches in its own order"
            )
        if self.data_order == "per_member" and getattr(self.ensemble, "sharding", None) is not None:
            raise ValueError("data_order='per_member' is not supported in member-parallel (distributed) training")

    def _check_inputs(
        self, source: DataSource, val_source: DataSource | None, device: torch.device
    ) -> tuple[int, bool]:
        """C from one forward pass, and whether labels must be checked batch by batch (not all known up front)."""
        c = output_classes(self.ensemble, source.first_input(), device)
        labels = source.all_labels()
        if labels is not None:
            check_labels(labels, c, "training")
        if val_source is not None:
            vx = val_source.first_input()
            if tuple(vx.shape[1:]) != tuple(source.first_input().shape[1:]):
                raise ValueError(
                    f"validation inputs have shape {tuple(vx.shape[1:])} per sample, training inputs "
                    f"{tuple(source.first_input().shape[1:])}"
                )
            val_labels = val_source.all_labels()
            if val_labels is not None:
                check_labels(val_labels, c, "validation")
        return c, labels is None

    def _run_epoch(
        self,
        epoch: int,
        source: DataSource,
        plan: BatchPlan,
        device: torch.device,
        active: list[int],
        opt: torch.optim.Optimizer,
        amp: Amp,
    ) -> dict[str, Any]:
        lr = opt.param_groups[0]["lr"]
        self.objective.on_epoch_start(epoch, self.ensemble, epoch_generator(self.seed, epoch, stream=1))
        self._set_modes(active)
        aug_g = epoch_generator(self.seed, epoch, stream=2) if self.augment is not None else None
        per_member = self.data_order == "per_member"
        step_fn = self.objective.per_member if per_member else self.objective
        n = len(self.ensemble)
        loss_sum = torch.zeros(n)
        term_sums: dict[str, Tensor] = {}
        steps = 0
        t0 = time.perf_counter()
        for step, (xb, yb) in enumerate(source.train_batches(epoch, plan)):
            if self._check_batch_labels:
                check_labels(yb, self._num_classes, "training")
            xb, yb = xb.to(device, non_blocking=True), yb.to(device, non_blocking=True)
            if aug_g is not None:
                xb = self._augmented(xb, aug_g, per_member)
            with amp.autocast():
                out = step_fn(self.ensemble, xb, yb)
            losses = out.losses.float()
            self._check_finite(losses, epoch, step)
            opt.zero_grad(set_to_none=True)
            amp.backward_and_step(losses[active].sum(), opt)
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

    def _augmented(self, x: Tensor, generator: torch.Generator, per_member: bool) -> Tensor:
        """The augmentation on a training batch (B, ...); per-member batches (N, B, ...) go through as N·B samples."""
        assert self.augment is not None
        if not per_member:
            return self.augment(x, generator)
        return self.augment(x.flatten(0, 1), generator).view(x.shape)

    def _check_finite(self, losses: Tensor, epoch: int, step: int) -> None:
        finite = torch.isfinite(losses.detach())
        if not bool(finite.all()):
            member = int((~finite).nonzero()[0])
            where = f" in {self.rundir.checkpoint_dir}" if self.rundir is not None else ""
            raise NonFiniteLossError(
                f"non-finite loss {float(losses.detach()[member]):.4g} at epoch {epoch}, step {step}, "
                f"member {member}; "
                f"training stopped, the last good checkpoint{where} is kept"
            )

    def predict(self, x: Tensor) -> Tensor:
        """Member logits (N, M, C) in evaluation mode."""
        return predict_logits(self.ensemble, x, self.eval_batch_size)

    def evaluate(self, data: DataArg) -> dict[str, Any]:
        """:func:`coterie.metrics.ensemble_summary` on ``data`` (any kind ``fit`` accepts)."""
        source = as_source(data, batch_size=self.eval_batch_size, workers=self.loader_workers, role="evaluation")
        return ensemble_summary(*predict_source(self.ensemble, source, self.eval_batch_size))
