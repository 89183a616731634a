"""``experiment: train`` — train one ensemble under one objective, evaluate it on held-out test data."""

from __future__ import annotations

import logging
from typing import Any

from coterie.config import TrainConfig
from coterie.experiments.build import build_ensemble, build_objective, build_splits, build_trainer
from coterie.experiments.registry import register
from coterie.experiments.rundir import RunDir
from coterie.metrics import ensemble_summary
from coterie.report.curves import learning_curves
from coterie.utils.seed import seed_everything

log = logging.getLogger(__name__)


@register("train", TrainConfig, "train an ensemble under an objective (independent, colearning, ...)")
def run_train(cfg: TrainConfig, rundir: RunDir) -> dict[str, Any]:
    """Train, then report validation figures (last epoch) and test figures (never used for any choice)."""
    seed_everything(cfg.seed)
    splits = build_splits(cfg.data, cfg.seed)
    ensemble = build_ensemble(cfg.model, cfg.ensemble, splits, cfg.seed)
    objective = build_objective(cfg.objective)
    trainer = build_trainer(cfg, ensemble, objective, run_dir=rundir.path)
    history = trainer.fit(splits.train, splits.val)
    test_logits = trainer.predict(splits.test.x)
    test = ensemble_summary(test_logits, splits.test.y)
    title = f"{cfg.objective.name} {cfg.objective.params} · N={cfg.ensemble.size} · {cfg.model.name} on {cfg.data.name}"
    rundir.save_figure(learning_curves(history, title), "learning_curves.png")
    last = history[-1]
    return {
        "experiment": "train",
        "epochs": cfg.epochs,
        "n_members": len(ensemble),
        "executor": ensemble.resolved_executor,
        "parameters_per_member": sum(p.numel() for p in ensemble.members[0].parameters()),
        "val": {k[4:]: v for k, v in last.items() if k.startswith("val_")},
        "test": test,
        "train_seconds": sum(r["train_seconds"] for r in history),
    }
