"""Sizing pilot of the learned-diversity study v2 (not the study): validation curves to a plateau and seconds per
seed per arm, for one study config.

.venv/bin/python docs/results/learned-diversity/pilot.py study-mnist1d.yaml --seeds 2 --epochs 150 --out pilot/

Per model kind of the config it trains, through the ldnn experiment's own Trainer setup (``arm_trainer``), the fixed
baselines and one interpolated-table arm (the untrained base-sine sub-network exported as the study exports learned
types: a cost proxy with the same per-step work as type1/type2/mix, not a result), records every seed's validation
metric after each epoch, applies the README's plateau rule, times the training, one seed's analysis (Hessian trace +
SLQ with the config's settings) and a few meta-learning outer steps, and writes ``pilot-<task>.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
import yaml

from coterie.experiments.ldnn.arms import analyse_seed, arm_trainer
from coterie.experiments.ldnn.config import LdnnConfig, export_kind, meta_config
from coterie.experiments.ldnn.task import LdnnTask
from coterie.neurons import LearnedSpec, export_activation, learned_activations, meta_learn
from coterie.training.callbacks import Callback
from coterie.utils import seed_everything

log = logging.getLogger("pilot")
HERE = Path(__file__).resolve().parent


class ValCurve(Callback):
    """Every member's validation (and test) metric after each epoch: curves[s][e], tests[s][e]."""

    def __init__(self, task: LdnnTask) -> None:
        self.task = task
        self.curves: list[list[float]] = []
        self.tests: list[list[float]] = []

    def on_epoch_end(self, trainer: Any, epoch: int, record: dict[str, Any], val_logits: Any) -> None:
        members = list(trainer.ensemble.members)
        if not self.curves:
            self.curves = [[] for _ in members]
            self.tests = [[] for _ in members]
        for s, m in enumerate(members):
            self.curves[s].append(self.task.evaluate(m, self.task.val))
            self.tests[s].append(self.task.evaluate(m, self.task.test))
            m.train()


def plateau_epoch(curve: list[float], higher: bool, patience: int, rel_tol: float) -> int | None:
    """First epoch e (1-based) after which the best value so far does not improve by more than ``rel_tol``
    (relative, or absolute 0.005 for accuracy) within the next ``patience`` epochs; None if never reached."""
    for e in range(len(curve) - patience):
        best = max(curve[: e + 1]) if higher else min(curve[: e + 1])
        nxt = max(curve[e + 1 : e + 1 + patience]) if higher else min(curve[e + 1 : e + 1 + patience])
        gain = (nxt - best) if higher else (best - nxt) / abs(best)
        if gain <= rel_tol:
            return e + 1
    return None


def run_kind(cfg: LdnnConfig, task: LdnnTask, kind: str, seeds: int, epochs: int, schedule: str) -> dict[str, Any]:
    spec = LearnedSpec(cfg.num_types, cfg.base, cfg.sub_hidden, cfg.scale)
    seed_everything(cfg.seed)
    meta_model = task.build(kind, spec)
    table = export_activation(next(iter(learned_activations(meta_model).values())), cfg.export_points,
                              -cfg.export_range, cfg.export_range, export_kind(cfg, kind))
    arms: dict[str, Any] = {b: b for b in cfg.eval.baselines or []}
    arms["table"] = [table]
    n_train = task.train[0].shape[0]
    steps_per_epoch = -(-n_train // cfg.eval.batch_size)
    ev = cfg.eval.model_copy(update={"steps": epochs * steps_per_epoch})
    higher = task.higher_is_better
    tol = 0.005 if higher else 0.01
    out: dict[str, Any] = {"steps_per_epoch": steps_per_epoch, "arms": {}}
    for arm, act in arms.items():
        models = []
        for s in range(seeds):
            seed_everything(cfg.seed * 100_003 + 1000 + s)
            models.append(task.build(kind, act))
        trainer = arm_trainer(models, task, ev, cfg.seed, None, progress=False)
        cb = ValCurve(task)
        trainer.callbacks = [cb]
        trainer.schedule = schedule  # the ldnn arms train at a constant rate; the pilot also tries cosine decay
        t0 = time.perf_counter()
        trainer.fit(task.train)
        wall = time.perf_counter() - t0
        final = [task.evaluate(m, task.test) for m in models]
        pl = [plateau_epoch(c, higher, 20, tol) for c in cb.curves]
        best = [max(c) if higher else min(c) for c in cb.curves]
        out["arms"][arm] = {"seconds_per_seed": wall / seeds, "epochs": epochs, "plateau_epoch": pl,
                            "final_val": [c[-1] for c in cb.curves], "best_val": best, "final_test": final,
                            "test_at_plateau": [None if e is None else t[e - 1] for e, t in zip(pl, cb.tests)],
                            "val_curves": cb.curves, "test_curves": cb.tests}
        log.info("%s %s: %.1f s/seed, plateau %s, final val %s, test %s", kind, arm, wall / seeds, pl,
                 [round(c[-1], 5) for c in cb.curves], [round(v, 5) for v in final])
    t0 = time.perf_counter()
    an = cfg.analysis
    analyse_seed(models[0], task, an, 0, tuple(t[: an.hessian_samples] for t in task.val))
    out["analysis_seconds_per_seed"] = time.perf_counter() - t0
    mc = meta_config(cfg)
    mc.outer_steps, mc.patience = 3, None
    t0 = time.perf_counter()
    meta_learn(meta_model, *task.train, task.loss, mc, seed=cfg.seed, val=task.val)
    out["meta_seconds_per_outer_step"] = (time.perf_counter() - t0) / 3
    log.info("%s: analysis %.1f s/seed, meta %.2f s/outer step", kind, out["analysis_seconds_per_seed"],
             out["meta_seconds_per_outer_step"])
    return out


def meta_to_plateau(cfg: LdnnConfig, task: LdnnTask, kind: str) -> dict[str, Any]:
    """The study's meta-learning as configured (to its plateau or the cap): outer steps run, time, val-loss curve."""
    seed_everything(cfg.seed)
    model = task.build(kind, LearnedSpec(cfg.num_types, cfg.base, cfg.sub_hidden, cfg.scale))
    t0 = time.perf_counter()
    res = meta_learn(model, *task.train, task.loss, meta_config(cfg), seed=cfg.seed, val=task.val)
    h = res.history
    out = {"outer_steps_run": len(h), "stopped": res.stopped, "best_step": res.best_step,
           "seconds": time.perf_counter() - t0, "meta_network_val": task.evaluate(model, task.val),
           "val_loss_curve": [r["val_loss"] for r in h if "val_loss" in r]}
    log.info("%s meta: %d outer steps (%s), %.0f s, meta-network val %.4g", kind, len(h), res.stopped,
             out["seconds"], out["meta_network_val"])
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("config")
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--epochs", type=int, default=100)
    p.add_argument("--out", default=str(HERE / "pilot"))
    p.add_argument("--schedule", default="constant", help="Trainer schedule of the arms (ldnn: constant)")
    p.add_argument("--meta-only", action="store_true", help="only the study's meta-learning, to its plateau")
    a = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    torch.set_num_threads(1)
    path = Path(a.config) if Path(a.config).exists() else HERE / a.config
    cfg = LdnnConfig.model_validate(yaml.safe_load(path.read_text()))
    task = LdnnTask(cfg, torch.device("cpu"))
    if a.meta_only:
        meta = {"config": path.name, "task": cfg.task, "models": {k: meta_to_plateau(cfg, task, k) for k in cfg.models}}
        Path(a.out).mkdir(parents=True, exist_ok=True)
        (Path(a.out) / f"meta-{cfg.task}.json").write_text(json.dumps(meta, indent=1))
        return
    res = {"config": path.name, "task": cfg.task, "seeds": a.seeds, "epochs": a.epochs, "schedule": a.schedule,
           "models": {k: run_kind(cfg, task, k, a.seeds, a.epochs, a.schedule) for k in cfg.models}}
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = "" if a.schedule == "constant" else f"-{a.schedule}{a.epochs}"
    (out / f"pilot-{cfg.task}{suffix}.json").write_text(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
