"""Step 5 of ``experiment: codeepnet``: final training of the pair (and its ablations), the larger single CNN and the
scikit-learn and published-clock baselines, each scored once on the test split.

Every model gives one :class:`Outcome`: its results.json entry, the first repeat's validation curve and its test
predictions (years). :func:`final_training` collects them by label.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from safetensors.torch import save

from coterie.cooperative.baselines import (
    count_parameters,
    fit_sklearn_baseline,
    larger_single_cnn,
    regression_metrics,
)
from coterie.cooperative.chromosome import Chromosome
from coterie.cooperative.codeepnet import CoDeepNet
from coterie.cooperative.training import fit_independent, fit_pair, fit_single, forward_flops, predict
from coterie.experiments.artifacts import codeepnet as artifacts
from coterie.experiments.codeepnet.config import CoDeepNetConfig
from coterie.experiments.codeepnet.data import clock_models
from coterie.experiments.codeepnet.prepare import PreparedData, train_config
from coterie.utils.io import atomic_write_bytes
from coterie.utils.progress import progress_bar
from coterie.utils.rundir import RunDir


@dataclass
class Outcome:
    """One model's results entry, first-repeat validation curve (``None`` for baselines) and test predictions."""

    entry: dict[str, Any]
    pred: np.ndarray
    curve: list[float] | None = None


@dataclass
class FinalResults:
    """Results entries, validation curves and test predictions by model label."""

    models: dict[str, Any] = field(default_factory=dict)
    curves: dict[str, list[float]] = field(default_factory=dict)
    test_preds: dict[str, np.ndarray] = field(default_factory=dict)

    def add(self, label: str, outcome: Outcome) -> None:
        """Record ``outcome`` under ``label``."""
        self.models[label] = outcome.entry
        if outcome.curve is not None:
            self.curves[label] = outcome.curve
        self.test_preds[label] = outcome.pred


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each metric over repeats, plus the spread of MAE."""
    keys = ["mae", "rmse", "r2", "median_ae", "val_mae", "train_seconds"]
    out: dict[str, Any] = {k: float(np.mean([r[k] for r in runs])) for k in keys}
    out["mae_std"] = float(np.std([r["mae"] for r in runs], ddof=1)) if len(runs) > 1 else 0.0
    out["runs"] = runs
    return out


def _logger(rundir: RunDir, label: str, repeat: int) -> Any:
    return lambda rec: rundir.log_metrics(
        {"phase": "train", "model": label, "repeat": repeat, **rec}, key=("phase", "model", "repeat", "epoch")
    )


def train_pair(
    cfg: CoDeepNetConfig,
    prep: PreparedData,
    chromosome: Chromosome,
    transfer: str,
    label: str,
    rundir: RunDir,
    device: torch.device,
    independent: bool = False,
) -> Outcome:
    """``cfg.repeats`` pairs with knowledge transfer ``transfer`` (seeds ``seed * 1000 + r``); saves the first.

    ``independent``: the two networks (``transfer`` must be ``none``) learn side by side on every batch
    (:func:`~coterie.cooperative.training.fit_independent`) instead of taking turns; not saved as an artefact."""
    runs, first = [], None
    for r in range(cfg.repeats):
        s = cfg.seed * 1000 + r
        torch.manual_seed(s)
        model = CoDeepNet(
            chromosome,
            prep.length,
            transfer,
            cfg.model.prediction,
            cfg.model.dropout,  # type: ignore[arg-type]
            prep.mean,
            prep.std,
        )
        fit = fit_independent if independent else fit_pair
        res = fit(
            model,
            prep.x_tr,
            prep.y_tr,
            prep.x_va,
            prep.a_va,
            prep.scaler,
            train_config(cfg),
            seed=s,
            device=device,
            log_fn=_logger(rundir, label, r),
        )
        pred = prep.scaler.decode(predict(model, prep.x_te, device))
        members = model.forward_members(torch.as_tensor(prep.x_te, device=device)).detach().cpu().numpy()[:, :, 0]
        member_mae = [float(np.mean(np.abs(prep.scaler.decode(m) - prep.a_te))) for m in members]
        runs.append(
            {
                **regression_metrics(prep.a_te, pred),
                "val_mae": res.best_val_mae,
                "member_mae": member_mae,
                "train_seconds": res.train_seconds,
                "epochs_run": res.epochs_run,
                "best_epoch": res.best_epoch,
                "swaps": res.swaps,
            }
        )
        if r == 0:
            first = ([h["val_mae"] for h in res.history], pred)
        if r == 0 and not independent:
            artifacts.save_pair(rundir, transfer, label == "codeepnet", model, chromosome, prep.scaler, prep.pre)
            if label == "codeepnet":
                atomic_write_bytes(
                    rundir.checkpoint_dir / "codeepnet.safetensors",
                    save({k: v.contiguous().cpu() for k, v in model.state_dict().items()}),
                )
    p_a, p_b = model.num_parameters()
    fwd = forward_flops(model, prep.length)
    # one training step per sample ≈ forward + backward (≈ 3 forwards) of the active network plus the partner's
    # forward; averaged over turns that is ≈ 2 pair forwards (the pair forward runs both networks); independent
    # networks both learn on every step: ≈ 3 pair forwards
    steps = 3 if independent else 2
    entry = {
        **summarise(runs),
        "transfer": transfer,
        "independent": independent,
        "n_parameters": p_a + p_b,
        "n_parameters_per_net": [p_a, p_b],
        "forward_flops": fwd,
        "train_gflops": float(np.mean([steps * fwd * len(prep.tr) * r["epochs_run"] for r in runs]) / 1e9),
    }
    assert first is not None
    return Outcome(entry, first[1], first[0])


def _single(cfg: CoDeepNetConfig, prep: PreparedData, chromosome: Chromosome, pair_params: int) -> Any:
    return larger_single_cnn(
        chromosome,
        prep.length,
        pair_params,
        cfg.baselines.single_cnn_param_ratio,
        cfg.model.dropout,
        prep.mean,
        prep.std,
    )


def single_cnn_lr(
    cfg: CoDeepNetConfig, prep: PreparedData, chromosome: Chromosome, pair_params: int, device: torch.device
) -> float:
    """The single CNN's learning rate: the pair's times the multiplier with the best validation MAE (the pair's
    when only one multiplier is given)."""
    lr_pair = chromosome.learning_rate
    best_lr, best_val = lr_pair, float("inf")
    if len(cfg.baselines.single_cnn_lr_multipliers) > 1:
        for mult in cfg.baselines.single_cnn_lr_multipliers:
            torch.manual_seed(cfg.seed * 1000)
            net = _single(cfg, prep, chromosome, pair_params)
            tc = dataclasses.replace(train_config(cfg), learning_rate=lr_pair * mult)
            res = fit_single(
                net, prep.x_tr, prep.y_tr, prep.x_va, prep.a_va, prep.scaler, tc, seed=cfg.seed * 1000, device=device
            )
            if res.best_val_mae < best_val:
                best_lr, best_val = lr_pair * mult, res.best_val_mae
    return best_lr


def train_single_cnn(
    cfg: CoDeepNetConfig,
    prep: PreparedData,
    chromosome: Chromosome,
    pair_params: int,
    rundir: RunDir,
    device: torch.device,
    searched: bool = False,
) -> Outcome:
    """``cfg.repeats`` single CNNs with ≥ ``single_cnn_param_ratio`` × the pair's parameters; saves the first.

    ``searched``: ``chromosome`` is the single-CNN search's best, trained with its own learning-rate gene (label
    ``single_cnn_searched``, not saved as an artefact)."""
    label = "single_cnn_searched" if searched else "single_cnn"
    best_lr = chromosome.learning_rate if searched else single_cnn_lr(cfg, prep, chromosome, pair_params, device)
    tc = dataclasses.replace(train_config(cfg), learning_rate=best_lr)
    runs, first = [], None
    for r in range(cfg.repeats):
        s = cfg.seed * 1000 + r
        torch.manual_seed(s)
        net = _single(cfg, prep, chromosome, pair_params)
        res = fit_single(
            net,
            prep.x_tr,
            prep.y_tr,
            prep.x_va,
            prep.a_va,
            prep.scaler,
            tc,
            seed=s,
            device=device,
            log_fn=_logger(rundir, label, r),
        )
        pred = prep.scaler.decode(predict(net, prep.x_te, device))
        runs.append(
            {
                **regression_metrics(prep.a_te, pred),
                "val_mae": res.best_val_mae,
                "train_seconds": res.train_seconds,
                "epochs_run": res.epochs_run,
                "best_epoch": res.best_epoch,
            }
        )
        if r == 0:
            first = ([h["val_mae"] for h in res.history], pred)
        if r == 0 and not searched:
            artifacts.save_single(rundir, net, prep.length, cfg.model.dropout, prep.scaler, prep.pre)
    g = net.genes
    fwd = forward_flops(net, prep.length)
    entry = {
        **summarise(runs),
        "n_parameters": count_parameters(net),
        "forward_flops": fwd,
        "train_gflops": float(np.mean([3 * fwd * len(prep.tr) * r["epochs_run"] for r in runs]) / 1e9),
        "learning_rate": best_lr,
        "architecture": {"conv": [[c.channels, c.kernel, c.pool] for c in g.conv], "fc": list(g.fc)},
    }
    assert first is not None
    return Outcome(entry, first[1], first[0])


def sklearn_outcome(cfg: CoDeepNetConfig, prep: PreparedData, name: str) -> Outcome:
    """One scikit-learn baseline, its hyper-parameters chosen on validation."""
    b = fit_sklearn_baseline(
        name,
        prep.x_tr,
        prep.y_tr,
        prep.x_va,
        prep.a_va,
        prep.x_te,
        prep.a_te,
        prep.scaler,
        cfg.baselines.gbr_estimators,
        seed=cfg.seed,
    )
    entry = {
        **b.metrics,
        "mae_std": 0.0,
        "val_mae": b.val_mae,
        "n_parameters": b.n_parameters,
        "train_seconds": b.train_seconds,
        "hyperparameters": b.params,
    }
    return Outcome(entry, b.test_pred)


def final_training(
    cfg: CoDeepNetConfig,
    prep: PreparedData,
    chromosome: Chromosome,
    rundir: RunDir,
    device: torch.device,
    single_chromosome: Chromosome | None = None,
) -> FinalResults:
    """Every model of step 5, in results order: the pair, its ablations, the independent CNNs, the single CNN (and
    the searched one when ``single_chromosome``, the single-CNN search's best, is given), sklearn, the clocks."""
    out = FinalResults()
    n_steps = (
        1
        + len(cfg.ablations)
        + int(cfg.independent_cnns)
        + int(cfg.baselines.single_cnn)
        + int(single_chromosome is not None)
        + len(cfg.baselines.sklearn)
    )
    with progress_bar() as bar:
        task_id = bar.add_task("codeepnet: final training", total=n_steps)
        for transfer, label in [(cfg.model.transfer, "codeepnet"), *((m, f"codeepnet[{m}]") for m in cfg.ablations)]:
            out.add(label, train_pair(cfg, prep, chromosome, transfer, label, rundir, device))
            bar.update(task_id, advance=1)
        if cfg.independent_cnns:
            out.add(
                "independent_cnns",
                train_pair(cfg, prep, chromosome, "none", "independent_cnns", rundir, device, independent=True),
            )
            bar.update(task_id, advance=1)
        if cfg.baselines.single_cnn:
            pair_params = out.models["codeepnet"]["n_parameters"]
            out.add("single_cnn", train_single_cnn(cfg, prep, chromosome, pair_params, rundir, device))
            bar.update(task_id, advance=1)
        if single_chromosome is not None:
            params = sum(CoDeepNet(single_chromosome, prep.length, cfg.model.transfer).num_parameters())  # type: ignore[arg-type]
            out.add(
                "single_cnn_searched",
                train_single_cnn(cfg, prep, single_chromosome, params, rundir, device, searched=True),
            )
            bar.update(task_id, advance=1)
        for name in cfg.baselines.sklearn:
            out.add(name, sklearn_outcome(cfg, prep, name))
            bar.update(task_id, advance=1)
        for b, entry in clock_models(cfg, prep.data, prep.va, prep.te):
            out.add(b.name, Outcome(entry, b.test_pred))
    return out
