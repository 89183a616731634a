"""Training of Co-DeepNet pairs (turn-taking) and of single regression networks, through the Trainer.

Turn-taking (:func:`fit_pair`): network 0 starts active. Each mini-batch trains the active network only; the inactive
one is in evaluation mode and runs under ``torch.no_grad`` to supply its features, so it gets no gradient and the
Trainer's one Adam optimiser (per-parameter state, persisting across turns) leaves it untouched, as one optimiser per
network would. After ``transmission_rate`` iterations (``transmission_unit="iterations"``, the default) or epochs
(``"epochs"``) the roles swap. Distillation (``transfer`` ``distill`` / ``features+distill``) starts only once the
partner has had an active turn of its own — before that its predictions are untrained noise. The turns are a Trainer
objective (:class:`~coterie.cooperative.turns.PairTurns`) and the pair the single member of an Ensemble.

Both: targets are standardised by a :class:`TargetScaler` fitted on the training ages (optionally through
Horvath's transform first); validation MAE is measured in years after every epoch; the weights of the best
validation epoch are restored at the end (``restore_best``) and training stops early after ``patience`` epochs
without improvement (:class:`~coterie.cooperative.fit_monitor.ValidationMAE`, a Trainer callback). The validation
split is the only held-out data seen; the test split is evaluated by the caller, once, at the end.

Compared with the loops these replaced: the batch order is the Trainer's (a fresh seeded permutation per epoch, a
pure function of (seed, epoch), instead of successive permutations of one generator), ``train_loss`` is the mean of
the batch losses (was sample-weighted), and a non-finite loss ends training at that step (the best epoch is kept)
instead of running on until patience ran out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from coterie.cooperative.codeepnet import CoDeepNet
from coterie.cooperative.fit_monitor import ValidationMAE
from coterie.cooperative.turns import BothLearn, PairTurns
from coterie.data.methylation import horvath_inverse, horvath_transform
from coterie.ensemble.ensemble import Ensemble
from coterie.objectives.base import Objective
from coterie.objectives.regression import Regression
from coterie.training.predict import predict_outputs
from coterie.training.trainer import NonFiniteLossError, Trainer

log = logging.getLogger(__name__)

LossName = Literal["l1", "mse", "huber"]


@dataclass
class TargetScaler:
    """Ages ↔ network targets: optional Horvath transform F, then z-scoring with training-split statistics.

    ``transform="horvath"`` regresses F(age) (as Horvath's clock does) and maps predictions back with F⁻¹;
    ``"none"`` regresses age itself.
    """

    transform: Literal["none", "horvath"] = "none"
    adult_age: float = 20.0
    mean_: float = 0.0
    std_: float = 1.0

    def _f(self, ages: np.ndarray) -> np.ndarray:
        a = np.asarray(ages, dtype=np.float64)
        return horvath_transform(a, self.adult_age) if self.transform == "horvath" else a

    def fit(self, ages: np.ndarray) -> TargetScaler:
        f = self._f(ages)
        self.mean_, self.std_ = float(f.mean()), float(f.std() or 1.0)
        return self

    def encode(self, ages: np.ndarray) -> np.ndarray:
        """Targets (n,) float32 from ages (n,)."""
        return ((self._f(ages) - self.mean_) / self.std_).astype(np.float32)

    def decode(self, z: np.ndarray) -> np.ndarray:
        """Ages (n,) from network outputs (n,)."""
        f = np.asarray(z, dtype=np.float64) * self.std_ + self.mean_
        return horvath_inverse(f, self.adult_age) if self.transform == "horvath" else f


@dataclass
class TrainConfig:
    """Training budget and options shared by the pair and the single network.

    Attributes:
        epochs: passes over the training split.
        batch_size: mini-batch size.
        learning_rate: Adam learning rate; ``None`` takes the pair's chromosome value (required for single nets).
        weight_decay: Adam (L2) weight decay.
        loss: ``l1`` (optimises MAE directly, default), ``mse`` or ``huber``.
        transmission_rate: iterations/epochs per turn; ``None`` takes the chromosome value.
        transmission_unit: ``iterations`` or ``epochs``.
        distill_weight: λ of the distillation term (distill modes only).
        patience: stop after this many epochs without validation improvement (``None``: never).
        restore_best: restore the best-validation weights at the end.
        max_seconds: wall-clock cap (``None``: none).
    """

    epochs: int = 60
    batch_size: int = 32
    learning_rate: float | None = None
    weight_decay: float = 1e-4
    loss: LossName = "l1"
    transmission_rate: int | None = None
    transmission_unit: Literal["iterations", "epochs"] = "iterations"
    distill_weight: float = 0.5
    patience: int | None = 20
    restore_best: bool = True
    max_seconds: float | None = None


@dataclass
class FitResult:
    """What a training run produced (the model itself is trained in place)."""

    best_val_mae: float
    best_epoch: int
    epochs_run: int
    train_seconds: float
    swaps: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


def _loss_fn(name: str) -> Callable[[Tensor, Tensor], Tensor]:
    if name == "l1":
        return nn.functional.l1_loss
    if name == "mse":
        return nn.functional.mse_loss
    if name == "huber":
        return nn.functional.smooth_l1_loss
    raise ValueError(f"unknown loss {name!r}; use l1, mse or huber")


def predict(
    model: nn.Module, x: np.ndarray | Tensor, device: torch.device | str = "cpu", batch_size: int = 512
) -> np.ndarray:
    """Model outputs (n,) for inputs (n, L), in evaluation mode and without gradient
    (:func:`coterie.training.predict.predict_outputs`)."""
    xt = torch.as_tensor(x, dtype=torch.float32)
    if len(xt) == 0:
        return np.zeros(0, dtype=np.float32)
    return predict_outputs(model, xt.split(batch_size), device).reshape(-1).numpy()


def _fit(
    model: nn.Module,
    objective: Objective,
    monitor: ValidationMAE,
    x_train: np.ndarray,
    y_train: np.ndarray,
    config: TrainConfig,
    lr: float,
    seed: int,
    device: torch.device | str,
) -> float:
    """Train ``model`` (as an Ensemble of one) with the Trainer under ``objective``; the seconds it took."""
    trainer = Trainer(
        Ensemble([model], executor="loop"),
        objective,
        optimizer="adam",
        lr=lr,
        weight_decay=config.weight_decay,
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=seed,
        device=str(device),
        callbacks=[monitor],
        progress=False,
    )
    xt = torch.as_tensor(x_train, dtype=torch.float32)
    yt = torch.as_tensor(y_train, dtype=torch.float32).reshape(-1)
    t0 = time.perf_counter()
    try:
        trainer.fit((xt, yt))
    except NonFiniteLossError as e:  # a diverging candidate (e.g. in the genetic search) keeps its best epoch
        log.warning("training stopped: %s", e)
    seconds = time.perf_counter() - t0
    monitor.finish()
    return seconds


def _learning_rate(config: TrainConfig, model: CoDeepNet) -> float:
    """The Adam rate of a pair: ``config.learning_rate``, or the pair's chromosome value when that is ``None``."""
    return float(config.learning_rate if config.learning_rate is not None else model.learning_rate)


def _monitor(
    model: nn.Module,
    x_val: np.ndarray,
    ages_val: np.ndarray,
    scaler: TargetScaler,
    config: TrainConfig,
    device: torch.device | str,
    log_fn: Callable[[dict[str, Any]], None] | None,
    extra: Callable[[int], dict[str, Any]] | None = None,
) -> ValidationMAE:
    dev = torch.device(device)
    return ValidationMAE(
        model,
        lambda m, x: predict(m, x, dev),
        x_val,
        ages_val,
        scaler.decode,
        config.patience,
        config.restore_best,
        config.max_seconds,
        extra,
        log_fn,
    )


def fit_pair(
    model: CoDeepNet,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    ages_val: np.ndarray,
    scaler: TargetScaler,
    config: TrainConfig,
    seed: int = 0,
    device: torch.device | str = "cpu",
    log_fn: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train a :class:`CoDeepNet` by turn-taking, through the Trainer (:class:`~coterie.cooperative.turns.PairTurns`).

    Args:
        model: the pair (trained in place, moved to ``device``).
        x_train: training inputs (n, L) (betas, natural range).
        y_train: standardised targets (n,) from ``scaler.encode``.
        x_val: validation inputs (m, L).
        ages_val: validation ages in years (m,).
        scaler: the fitted target scaler.
        config: budget and options.
        seed: seeds the batch order (the Trainer's: a pure function of (seed, epoch)).
        log_fn: receives one record per epoch (``epoch``, ``train_loss``, ``val_mae``, ``active``, ``swaps``).
    """
    lr = _learning_rate(config, model)
    rate = int(config.transmission_rate if config.transmission_rate is not None else model.transmission_rate)
    turns = PairTurns(
        _loss_fn(config.loss),
        rate,
        config.transmission_unit,
        -(-len(x_train) // config.batch_size),
        config.distill_weight,
    )

    def extra(epoch: int) -> dict[str, Any]:
        return {"active": int(model.active.item()), "swaps": turns.swaps(epoch + 1)}

    monitor = _monitor(model, x_val, ages_val, scaler, config, device, log_fn, extra)
    seconds = _fit(model, turns, monitor, x_train, y_train, config, lr, seed, device)
    runs = len(monitor.records)
    return FitResult(monitor.best, monitor.best_epoch, runs, seconds, turns.swaps(runs), monitor.records)


def fit_independent(
    model: CoDeepNet,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    ages_val: np.ndarray,
    scaler: TargetScaler,
    config: TrainConfig,
    seed: int = 0,
    device: torch.device | str = "cpu",
    log_fn: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train both networks of a ``transfer="none"`` pair independently on every batch
    (:class:`~coterie.cooperative.turns.BothLearn`), same arguments and budget rules as :func:`fit_pair`; the
    prediction is the members' mean. The "two independent CNNs averaged" arm of the transfer ablation."""
    lr = _learning_rate(config, model)
    monitor = _monitor(model, x_val, ages_val, scaler, config, device, log_fn)
    seconds = _fit(model, BothLearn(_loss_fn(config.loss)), monitor, x_train, y_train, config, lr, seed, device)
    return FitResult(monitor.best, monitor.best_epoch, len(monitor.records), seconds, 0, monitor.records)


def fit_single(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    ages_val: np.ndarray,
    scaler: TargetScaler,
    config: TrainConfig,
    seed: int = 0,
    device: torch.device | str = "cpu",
    log_fn: Callable[[dict[str, Any]], None] | None = None,
) -> FitResult:
    """Train one regression network ``model: (B, L) → (B, 1)`` with the same budget rules as :func:`fit_pair`."""
    if config.learning_rate is None:
        raise ValueError("fit_single needs config.learning_rate")
    monitor = _monitor(model, x_val, ages_val, scaler, config, device, log_fn)
    seconds = _fit(
        model, Regression(config.loss), monitor, x_train, y_train, config, config.learning_rate, seed, device
    )
    return FitResult(monitor.best, monitor.best_epoch, len(monitor.records), seconds, 0, monitor.records)


def forward_flops(model: nn.Module, input_length: int) -> int:
    """Floating-point operations of one forward pass on one sample (``torch.utils.flop_counter``; 0 if unavailable)."""
    try:
        from torch.utils.flop_counter import FlopCounterMode
    except ImportError:  # pragma: no cover - old torch
        return 0
    p = next(model.parameters())
    x = torch.zeros(1, input_length, device=p.device)
    was = model.training
    model.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model(x)
    model.train(was)
    return int(counter.get_total_flops())
