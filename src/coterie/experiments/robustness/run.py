"""One run of ``experiment: robustness``: per repeat, train the surrogate and every target, attack and measure them;
then summarise, save the ensembles and draw the figures."""

from __future__ import annotations

import copy
import logging
from typing import Any

import torch

from coterie.data import Splits, TensorData
from coterie.ensemble import Ensemble
from coterie.experiments import headlines
from coterie.experiments.artifacts import robustness as artifacts
from coterie.experiments.build import build_objective, build_splits
from coterie.experiments.registry import register
from coterie.experiments.robustness.config import RobustnessConfig, all_methods
from coterie.experiments.robustness.evaluate import attack_all, cka_all, gradient_similarity
from coterie.experiments.robustness.summary import summarise
from coterie.experiments.robustness.train import (
    clean_accuracy,
    member_kwargs,
    scale_splits,
    train_ensemble,
    validate_objectives,
)
from coterie.objectives.independent import Independent
from coterie.report.robustness import save_figures
from coterie.utils.device import resolve_device
from coterie.utils.rundir import RunDir
from coterie.utils.seed import seed_everything

log = logging.getLogger(__name__)


def held_out(cfg: RobustnessConfig, splits: Splits) -> TensorData:
    """The split that clean and attacked accuracy are measured on: test, or validation (``attack.eval_split``)."""
    return splits.val if cfg.attack.eval_split == "val" else splits.test


def eval_subset(cfg: RobustnessConfig, splits: Splits) -> tuple[torch.Tensor, torch.Tensor]:
    """The fixed random subset of the held-out split every attack uses, drawn once from the run seed (the same in
    every repeat)."""
    device = resolve_device(cfg.device)
    g = torch.Generator().manual_seed(cfg.seed)
    data = held_out(cfg, splits)
    idx = torch.randperm(len(data), generator=g)[: min(cfg.attack.n_eval, len(data))]
    return data.x[idx].to(device), data.y[idx].to(device)


def train_targets(
    cfg: RobustnessConfig, splits: Splits, rundir: RunDir, repeat: int
) -> tuple[dict[str, Ensemble], Ensemble, dict[str, Any]]:
    """Train the surrogate (its own initialisation and data order) and every target (one shared initialisation and
    data order per repeat); returns targets, surrogate and per-target training figures."""
    seed = cfg.seed + repeat
    rdir = rundir.path / f"repeat{repeat}"
    log.info("repeat %d: training the surrogate", repeat)
    off = cfg.surrogate_seed_offset
    surrogate, _ = train_ensemble(
        cfg, splits, Independent(), (seed * 1000 + 500 * off, seed + 7919 * off), cfg.epochs, rdir / "surrogate"
    )
    targets: dict[str, Ensemble] = {}
    train: dict[str, Any] = {}
    for m in all_methods(cfg):
        log.info("repeat %d: training %s (%s %s)", repeat, m.label, m.objective.name, m.objective.params)
        init_state = copy.deepcopy(targets[m.init_from].state_dict()) if m.init_from else None
        ens, hist = train_ensemble(
            cfg,
            splits,
            build_objective(m.objective),
            (seed * 1000, seed),
            m.epochs or cfg.epochs,
            rdir / m.label.replace("/", "_"),
            method=m,
            init_state=init_state,
        )
        targets[m.label] = ens
        train[m.label] = {
            "epochs": len(hist),
            "seconds": sum(r["train_seconds"] for r in hist),
            "val_ens_acc_vote": hist[-1].get("val_ens_acc_vote") if hist else None,
        }
    return targets, surrogate, train


def run_repeat(cfg: RobustnessConfig, splits: Splits, rundir: RunDir, repeat: int) -> dict[str, Any]:
    """Train the surrogate and every target of one repeat and evaluate them; returns the per-repeat results.

    ``blackbox``/``whitebox`` hold attack → target → accuracy per ε under the primary rule, ``*_by_rule`` the same
    per reported rule; ``clean`` the held-out (test, or validation) accuracy of each target (every rule, and each
    member)."""
    seed = cfg.seed + repeat
    rules = cfg.attack.reported_rules()
    targets, surrogate, train = train_targets(cfg, splits, rundir, repeat)
    kwargs = {m.label: member_kwargs(cfg, splits, m) for m in all_methods(cfg)}
    artifacts.save_repeat(
        rundir, repeat, cfg.model.name, member_kwargs(cfg, splits), targets, surrogate, label_kwargs=kwargs
    )
    x_eval, y_eval = eval_subset(cfg, splits)
    out: dict[str, Any] = {"seed": seed, "train": train}
    data = held_out(cfg, splits)
    out["clean"] = {k: clean_accuracy(e, data.x, data.y, rules) for k, e in targets.items()}
    out["clean"]["surrogate"] = clean_accuracy(surrogate, data.x, data.y, rules)
    out["clean_eval_subset"] = {k: clean_accuracy(e, x_eval, y_eval, rules)[rules[0]] for k, e in targets.items()}
    for mode, curves in attack_all(cfg, targets, surrogate, x_eval, y_eval, seed).items():
        out[mode] = curves[rules[0]]
        out[f"{mode}_by_rule"] = curves
    out.update(gradient_similarity(cfg, targets, x_eval))
    out.update(cka_all(cfg, targets, x_eval))
    return out


@register(
    "robustness",
    RobustnessConfig,
    "seed 002: PARL/ADP/GAL/DVERGE ensembles under black- and white-box attacks; load: {method: Ensemble}",
    load=artifacts.load,
    headline=headlines.robustness,
)
def run(cfg: RobustnessConfig, rundir: RunDir) -> dict[str, Any]:
    """Train surrogate and targets, attack them, write Table 1, curves, CKA, per-run records and figures."""
    seed_everything(cfg.seed)
    split_seed = cfg.seed if cfg.data.split_seed is None else cfg.data.split_seed
    splits, scaling = scale_splits(build_splits(cfg.data, split_seed), cfg.input_scaling)
    validate_objectives(cfg, splits)
    repeats = []
    for r in range(cfg.first_repeat, cfg.first_repeat + cfg.repeats):
        rep = run_repeat(cfg, splits, rundir, r)
        summary = {"repeat": r, "summary_clean": {k: v["vote"] for k, v in rep["clean"].items()}}
        rundir.log_metrics(summary, key=("repeat", "summary_clean"))
        repeats.append(rep)
    res = summarise(cfg, repeats)
    res["data"] = {
        "name": cfg.data.name,
        "train": len(splits.train),
        "val": len(splits.val),
        "test": len(splits.test),
        "eval_subset": min(cfg.attack.n_eval, len(splits.test)),
        "scaling": scaling,
    }
    save_figures(rundir, res, cfg)
    return res
