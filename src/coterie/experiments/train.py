"""``experiment: train`` — train one ensemble under one objective, evaluate it on held-out test data.

Data order: the config's ``data_order`` — ``shared`` (default: every member sees the same batch, co-learning's
setting) or ``per_member`` (each member its own seeded shuffle, as independently trained networks), and
``bootstrap`` for bagging; coupled objectives refuse ``per_member``.
"""

from __future__ import annotations

import logging
from typing import Any

from coterie.config import TrainConfig
from coterie.experiments.build import setup_train
from coterie.experiments.registry import register
from coterie.metrics import ensemble_summary
from coterie.report.curves import learning_curves
from coterie.training.best_weights import BEST, FINAL, BestWeights
from coterie.utils.rundir import RunDir

log = logging.getLogger(__name__)


@register("train", TrainConfig, "train an ensemble under an objective (independent, colearning, ...)")
def run_train(cfg: TrainConfig, rundir: RunDir) -> dict[str, Any]:
    """Train, then report validation figures (last epoch) and test figures of the final weights (never used for
    any choice). Writes final.safetensors, best.safetensors (best validation ``best_metric``) and config.yaml with
    the resolved model arguments."""
    splits, ensemble, trainer = setup_train(cfg, rundir)
    best = BestWeights(rundir.path, cfg.best_metric)  # best.safetensors per epoch, final.safetensors at the end
    trainer.callbacks = [*trainer.callbacks, best]
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
        "input_shape": list(splits.input_shape),
        "executor": ensemble.resolved_executor,
        "parameters_per_member": sum(p.numel() for p in ensemble.members[0].parameters()),
        "val": {k[4:]: v for k, v in last.items() if k.startswith("val_")},
        "test": test,
        "train_seconds": sum(r["train_seconds"] for r in history),
        "best": best.summary(),
        "weights": {"final": FINAL, "best": BEST},
    }
