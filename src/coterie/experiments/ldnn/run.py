"""The ``ldnn`` run: meta-learn, export, train and analyse the arms for each model kind, write results.json."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from coterie.experiments import headlines
from coterie.experiments.artifacts import ldnn as artifacts
from coterie.experiments.build import log_callbacks
from coterie.experiments.ldnn.arms import analyse_seed, fit_arm
from coterie.experiments.ldnn.config import LdnnConfig, export_kind, meta_config
from coterie.experiments.ldnn.reuse import reused_activations, source_run
from coterie.experiments.ldnn.rollouts import rollout_energies
from coterie.experiments.ldnn.stats import compare, summary
from coterie.experiments.ldnn.task import LdnnTask
from coterie.experiments.registry import register
from coterie.neurons import InterpolatedActivation, LearnedSpec, export_activation, learned_activations, meta_learn
from coterie.report import ldnn as figures
from coterie.utils import progress_bar, resolve_device, seed_everything
from coterie.utils.rundir import RunDir

log = logging.getLogger(__name__)


class _MetaLog:
    """Per-outer-step record → metrics.jsonl and the progress bar."""

    def __init__(self, rundir: RunDir, kind: str, tag: str, bar: Any, task_id: Any) -> None:
        self.rundir, self.kind, self.tag, self.bar, self.task_id = rundir, kind, tag, bar, task_id

    def __call__(self, rec: dict[str, float]) -> None:
        self.rundir.log_metrics({"phase": "meta", "model": self.kind, **rec}, key=("phase", "model", "outer_step"))
        self.bar.update(self.task_id, advance=1, description=f"{self.tag} meta L_I {rec['inner_loss']:.4g}")


@dataclass
class Meta:
    """What the meta-learning phase of one model kind produced (``model``/``result`` ``None``: activations reused
    from another run, no meta-learning)."""

    model: nn.Module | None
    result: Any
    exported: list[InterpolatedActivation]
    export_error: float
    val: float


@dataclass
class ArmRecords:
    """Per-arm lists over seeds, filled as the arms are analysed."""

    metric: dict[str, list[float]] = field(default_factory=dict)
    test: dict[str, list[float]] = field(default_factory=dict)
    ratio: dict[str, list[float]] = field(default_factory=dict)
    htrace: dict[str, list[float]] = field(default_factory=dict)
    near_zero: dict[str, list[float]] = field(default_factory=dict)
    densities: dict[str, Any] = field(default_factory=dict)
    trained_mix: nn.Module | None = None

    def add(self, arm: str, rec: dict[str, Any], metric_name: str, width: int) -> None:
        for store, key in (
            (self.metric, f"val_{metric_name}"),
            (self.test, f"test_{metric_name}"),
            (self.htrace, "hessian_trace"),
            (self.near_zero, "near_zero_fraction"),
        ):
            store.setdefault(arm, [])
            if key in rec:
                store[arm].append(rec[key])
        self.ratio.setdefault(arm, []).append(rec["participation_ratio"] / width)


def _meta_phase(cfg: LdnnConfig, task: LdnnTask, kind: str, rundir: RunDir) -> Meta:
    """Algorithm 1 on a fresh network of ``kind``, then the first layer's types exported as interpolated tables."""
    tag = f"{cfg.task}-{kind}"
    seed_everything(cfg.seed)
    model = task.build(kind, LearnedSpec(cfg.num_types, cfg.base, cfg.sub_hidden, cfg.scale)).to(task.device)
    m = cfg.meta
    R = cfg.export_range
    grid = torch.linspace(-R, R, 200)
    with progress_bar() as bar:
        on_step = _MetaLog(rundir, kind, tag, bar, bar.add_task(f"{tag} meta-learning", total=m.outer_steps))
        result = meta_learn(
            model,
            *task.train,
            task.loss,
            meta_config(cfg),
            seed=cfg.seed,
            snapshot_every=max(1, m.outer_steps // max(1, m.snapshots)),
            snapshot_grid=grid,
            on_step=on_step,
            val=task.val,
        )
    figures.save_meta_figures(rundir, tag, grid, result)
    acts = list(learned_activations(model).values())[: cfg.num_types]
    exported = [export_activation(a, cfg.export_points, -R, R, export_kind(cfg, kind)) for a in acts]
    with torch.no_grad():
        err = max(float((e(grid) - a.cpu()(grid)).abs().max()) for e, a in zip(exported, acts))
    artifacts.save_learned(rundir, cfg, kind, task.dims, model, exported)
    return Meta(model, result, exported, err, task.evaluate(model, task.val))


def _reused_phase(
    cfg: LdnnConfig, task: LdnnTask, kind: str, rundir: RunDir, exported: list[InterpolatedActivation]
) -> Meta:
    """``activations_from``: the source run's tables (:func:`reused_activations`) instead of meta-learning, saved as
    this run's exported tables so ``coterie.load`` finds them; no meta-network."""
    artifacts.save_learned(rundir, cfg, kind, task.dims, None, exported)
    src = cfg.activations_from
    log.info("%s-%s: activations from %s (%s), no meta-learning", cfg.task, kind, src.run, src.model)
    return Meta(None, None, exported, 0.0, float("nan"))


def _arms(cfg: LdnnConfig, exported: list[InterpolatedActivation]) -> dict[str, Any]:
    arms: dict[str, Any] = {f"type{k + 1}": [e] for k, e in enumerate(exported)}
    arms["mix"] = list(exported)
    for b in cfg.eval.baselines or []:
        arms[b] = b
    return arms


def _arms_phase(cfg: LdnnConfig, task: LdnnTask, kind: str, rundir: RunDir, meta: Meta) -> ArmRecords:
    """Train every arm over the evaluation seeds (same initial weights per seed in every arm) and analyse them."""
    ev, an = cfg.eval, cfg.analysis
    records = ArmRecords()
    hessian_data = tuple(t[: an.hessian_samples] for t in task.val)
    init_seeds = [cfg.seed * 100_003 + 1000 + s for s in range(ev.seeds)]
    for arm, act in _arms(cfg, meta.exported).items():
        models = []
        for sd in init_seeds:
            seed_everything(sd)  # seed s: the same initial weights in every arm
            models.append(task.build(kind, act).to(task.device))
        run_dir = rundir.path / "arms" / f"{cfg.task}-{kind}-{arm}"
        train_losses, curves = fit_arm(models, task, ev, init_seeds[0], run_dir, callbacks=log_callbacks(cfg, run_dir))
        for s, model in enumerate(models):
            rec, density = analyse_seed(model, task, an, s, hessian_data)
            records.add(arm, rec, task.metric_name, cfg.hidden[0])
            if density is not None and s == 0:
                records.densities[arm] = density
            if arm == "mix" and s == 0:
                records.trained_mix = model
            curve = {f"val_{task.metric_name}_curve": curves[s]}  # after each epoch (the plateau rule reads it)
            rundir.log_metrics(
                {"phase": "eval", "model": kind, "arm": arm, "seed": s, "train_loss": train_losses[s], **rec, **curve},
                key=("phase", "model", "arm", "seed"),
            )
        artifacts.save_arm(rundir, cfg, kind, task.dims, arm, act, meta.exported, models)
        log.info("%s-%s %s: mean val %s %.4g", cfg.task, kind, arm, task.metric_name, np.mean(records.metric[arm]))
    return records


def _results(cfg: LdnnConfig, task: LdnnTask, meta: Meta, rec: ArmRecords) -> dict[str, Any]:
    higher = task.higher_is_better
    pures = [f"type{k + 1}" for k in range(cfg.num_types)]
    return {
        "metric": task.metric_name,
        "higher_is_better": higher,
        "meta": _meta_record(meta),
        "val": {a: summary(v) for a, v in rec.metric.items()},
        "test": {a: summary(v) for a, v in rec.test.items()},
        "participation_r": {a: summary(v) for a, v in rec.ratio.items()},
        "hessian_trace": {a: summary(v) for a, v in rec.htrace.items()},
        "near_zero_fraction": {a: summary(v) for a, v in rec.near_zero.items()},
        "mix_vs_pure_val": compare(rec.metric, higher, "mix", pures),
        "mix_vs_pure_test": compare(rec.test, higher, "mix", pures),
        "mix_vs_baselines_val": compare(rec.metric, higher, "mix", cfg.eval.baselines) if cfg.eval.baselines else {},
        "per_seed_val": rec.metric,
    }


def _meta_record(meta: Meta) -> dict[str, Any] | None:
    """results.json's ``meta`` section; ``None`` when the activations were reused (no meta-learning here)."""
    if meta.result is None:
        return None
    h = meta.result.history
    return {
        "first_inner_loss": h[0]["inner_loss"],
        "last_inner_loss": h[-1]["inner_loss"],
        "meta_network_val": meta.val,
        "export_max_abs_error_on_range": meta.export_error,
        "outer_steps_run": len(h),
        "stopped": meta.result.stopped,
        "best_outer_step": meta.result.best_step,
        "inner_loss_curve": [r["inner_loss"] for r in h],
        "val_loss_curve": [r["val_loss"] for r in h if "val_loss" in r],
    }


def run_model(
    cfg: LdnnConfig,
    task: LdnnTask,
    kind: str,
    rundir: RunDir,
    reused: list[InterpolatedActivation] | None = None,
) -> dict[str, Any]:
    """Meta-learn (or, given ``reused`` tables from another run, skip that), export, compare arms and analyse for
    one model kind (``nn`` or ``hnn``)."""
    tag = f"{cfg.task}-{kind}"
    meta = _meta_phase(cfg, task, kind, rundir) if reused is None else _reused_phase(cfg, task, kind, rundir, reused)
    records = _arms_phase(cfg, task, kind, rundir, meta)
    figures.save_arm_figures(
        rundir, tag, records.metric, records.ratio, records.densities, task.metric_name, task.higher_is_better
    )
    out = _results(cfg, task, meta, records)
    if task.traj is not None and records.trained_mix is not None:
        out["rollout"], series = rollout_energies(cfg, task, kind, records.trained_mix)
        figures.save_rollout_energy(rundir, tag, series, cfg.analysis.rollout_dt)
    return out


@register(
    "ldnn",
    LdnnConfig,
    "learned-diversity neurons: meta-learned activations vs pure types and baselines; "
    "load: {kind: {meta, activations, arms: {arm: [net per seed]}}}",
    load=artifacts.load,
    headline=headlines.ldnn,
)
def run(cfg: LdnnConfig, rundir: RunDir) -> dict[str, Any]:
    """Meta-learn N_T activation types, export them, and compare pure / mixed / baseline networks over seeds."""
    source = source_run(cfg) if cfg.activations_from is not None else None
    # the reused tables are read (and checked: a bad source is an InputError) once, before any work
    reused = {kind: reused_activations(cfg, kind, source) for kind in cfg.models} if source is not None else {}
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    task = LdnnTask(cfg, device)
    sizes = {"train": len(task.splits.train), "val": len(task.splits.val), "test": len(task.splits.test)}
    log.info("ldnn %s: train %d, val %d, test %d", cfg.task, sizes["train"], sizes["val"], sizes["test"])
    if task.traj is not None:
        figures.save_orbits(rundir, cfg.task, task.traj)
    results: dict[str, Any] = {"task": cfg.task, "sizes": sizes}
    if source is not None:  # summarise.py --collect reads its task as the runs' activation source
        results["activations_from"] = {k: source[k] for k in ("run", "model", "task", "fingerprint")}
    for kind in cfg.models:
        results[kind] = run_model(cfg, task, kind, rundir, reused.get(kind))
    return results
