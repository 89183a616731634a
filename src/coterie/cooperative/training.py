"""Training loops for Co-DeepNet pairs (turn-taking) and for single regression networks.

Turn-taking (:func:`fit_pair`): network 0 starts active. Each mini-batch trains the active network only (its own
Adam optimiser, whose state persists across turns); the inactive one is in evaluation mode and runs under
``torch.no_grad`` to supply its features. After ``transmission_rate`` iterations (``transmission_unit="iterations"``,
the default) or epochs (``"epochs"``) the roles swap. Distillation (``transfer`` ``distill`` / ``features+distill``)
starts only once the partner has had an active turn of its own — before that its predictions are untrained noise.

Both loops: targets are standardised by a :class:`TargetScaler` fitted on the training ages (optionally through
Horvath's transform first); validation MAE is measured in years after every epoch; the weights of the best
validation epoch are restored at the end (``restore_best``) and training stops early after ``patience`` epochs
without improvement. The validation split is the only held-out data these loops see; the test split is evaluated by
the caller, once, at the end.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from coterie.cooperative.codeepnet import CoDeepNet
from coterie.data.methylation import horvath_inverse, horvath_transform

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


@torch.no_grad()
def predict(model: nn.Module, x: np.ndarray | Tensor, device: torch.device | str = "cpu", batch_size: int = 512
            ) -> np.ndarray:
    """Model outputs (n,) for inputs (n, L), in evaluation mode and without gradient."""
    was_training = model.training
    model.eval()
    xt = torch.as_tensor(x, dtype=torch.float32)
    outs = [model(xt[i:i + batch_size].to(device)).reshape(-1).cpu() for i in range(0, len(xt), batch_size)]
    model.train(was_training)
    return torch.cat(outs).numpy() if outs else np.zeros(0, dtype=np.float32)


def _val_mae(model: nn.Module, x_val: np.ndarray, ages_val: np.ndarray, scaler: TargetScaler,
             device: torch.device) -> float:
    pred = scaler.decode(predict(model, x_val, device))
    mae = float(np.mean(np.abs(pred - ages_val)))
    return mae if math.isfinite(mae) else float("inf")


def _batches(n: int, batch_size: int, gen: torch.Generator) -> list[Tensor]:
    perm = torch.randperm(n, generator=gen)
    return [perm[i:i + batch_size] for i in range(0, n, batch_size)]


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
    """Train a :class:`CoDeepNet` by turn-taking.

    Args:
        model: the pair (trained in place, moved to ``device``).
        x_train: training inputs (n, L) (betas, natural range).
        y_train: standardised targets (n,) from ``scaler.encode``.
        x_val: validation inputs (m, L).
        ages_val: validation ages in years (m,).
        scaler: the fitted target scaler.
        config: budget and options.
        seed: seeds the batch order.
        log_fn: receives one record per epoch (``epoch``, ``train_loss``, ``val_mae``, ``active``, ``swaps``).
    """
    device = torch.device(device)
    model.to(device)
    lr = config.learning_rate if config.learning_rate is not None else model.learning_rate
    rate = int(config.transmission_rate if config.transmission_rate is not None else model.transmission_rate)
    if rate < 1:
        raise ValueError("transmission_rate must be >= 1")
    opts = [torch.optim.Adam(n.parameters(), lr=lr, weight_decay=config.weight_decay) for n in model.nets]
    loss_fn = _loss_fn(config.loss)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y_train, dtype=torch.float32, device=device).reshape(-1, 1)
    active, in_turn, swaps = 0, 0, 0
    had_turn = [True, False]
    best, best_epoch, best_state, bad = float("inf"), -1, None, 0
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    epoch = -1
    for epoch in range(config.epochs):
        total, count = 0.0, 0
        for idx in _batches(len(xt), config.batch_size, gen):
            model.nets[active].train()
            model.nets[1 - active].eval()
            distill = model.distills and had_turn[1 - active]
            out, partner = model.active_outputs(xt[idx], active, partner_prediction=distill)
            loss = loss_fn(out, yt[idx])
            if distill and partner is not None:
                lam = config.distill_weight
                loss = (1 - lam) * loss + lam * loss_fn(out, partner)
            opts[active].zero_grad(set_to_none=True)
            loss.backward()
            opts[active].step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
            model.active.fill_(active)
            if config.transmission_unit == "iterations":
                in_turn += 1
                if in_turn >= rate:
                    active, in_turn, swaps = 1 - active, 0, swaps + 1
                    had_turn[active] = True
        if config.transmission_unit == "epochs":
            in_turn += 1
            if in_turn >= rate:
                active, in_turn, swaps = 1 - active, 0, swaps + 1
                had_turn[active] = True
        val = _val_mae(model, x_val, ages_val, scaler, device)
        rec = {"epoch": epoch, "train_loss": total / max(count, 1), "val_mae": val,
               "active": int(model.active.item()), "swaps": swaps}
        history.append(rec)
        if log_fn is not None:
            log_fn(rec)
        if val < best:
            best, best_epoch, bad = val, epoch, 0
            if config.restore_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
        if config.patience is not None and bad >= config.patience:
            break
        if config.max_seconds is not None and time.perf_counter() - t0 > config.max_seconds:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(best, best_epoch, epoch + 1, time.perf_counter() - t0, swaps, history)


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
    device = torch.device(device)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay)
    loss_fn = _loss_fn(config.loss)
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(x_train, dtype=torch.float32, device=device)
    yt = torch.as_tensor(y_train, dtype=torch.float32, device=device).reshape(-1, 1)
    best, best_epoch, best_state, bad = float("inf"), -1, None, 0
    history: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    epoch = -1
    for epoch in range(config.epochs):
        model.train()
        total, count = 0.0, 0
        for idx in _batches(len(xt), config.batch_size, gen):
            loss = loss_fn(model(xt[idx]), yt[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
            count += len(idx)
        val = _val_mae(model, x_val, ages_val, scaler, device)
        rec = {"epoch": epoch, "train_loss": total / max(count, 1), "val_mae": val}
        history.append(rec)
        if log_fn is not None:
            log_fn(rec)
        if val < best:
            best, best_epoch, bad = val, epoch, 0
            if config.restore_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            bad += 1
        if config.patience is not None and bad >= config.patience:
            break
        if config.max_seconds is not None and time.perf_counter() - t0 > config.max_seconds:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return FitResult(best, best_epoch, epoch + 1, time.perf_counter() - t0, 0, history)


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
