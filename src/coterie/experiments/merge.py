"""``experiment: merge`` — merge independently trained networks (seed 003, Tables 1–2 and Fig. 2).

Protocol:

1. Train ``members`` networks independently under the ``Independent`` objective (no interaction): each with its own
   initialisation (seed·1000 + i) and, by default, its own data order (``parents.data_order: per_member``; v1 of the
   study used one shared order). ``parents.data``: ``same`` (all of the training split), ``disjoint`` (one part of
   it each: halves for 2 parents, eighths for 8) or ``overlapping`` (``parents.fraction`` of it each, neighbours
   sharing some); see :mod:`coterie.experiments.merge_parents`.
2. **Pair** (Table 1): merge members 0 and 1 with every variant in ``pair_variants``.
3. **Hierarchy** (Table 2): merge all members 8 → 4 → 2 → 1 with every variant in ``hierarchy_variants``.

A variant name is ``[aligned-]{average|mega-scalar|mega-layer|mega-element}[+bn]``: ``aligned-`` permutes each
second model's hidden units to match the first (weight matching) before merging; ``+bn`` re-estimates BatchNorm
statistics on training data (for MeGA: every candidate is scored with repaired statistics). ``+bn`` variants are
skipped for models without BatchNorm (they would equal the plain ones).

Data roles: members train on ``train``; MeGA's fitness is the ``val`` split; BatchNorm statistics come from
``train``; ``test`` only reports. Reported per variant: validation and test accuracy; for reference each parent's
accuracy and the output ensemble's (mean of member probabilities, on validation and test); the time and peak memory
of each merge (``cost``: :func:`coterie.utils.measure.measure`, evaluation excluded). Plots: MeGA fitness progression
(Fig. 2) and the accuracy along the segment between the two parents, with and without alignment / BatchNorm repair.

Artefacts (:mod:`coterie.experiments.artifacts.merge`): ``merge-parents.safetensors`` and one
``merged-<pair|hierarchy>-<variant>.safetensors`` per merged network; ``coterie.load(run_dir)`` returns
``{"parents": [nn.Module], "pair": {variant: nn.Module}, "hierarchy": {variant: nn.Module}}`` in eval mode
(``which``: final or best, the same weights).
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field, field_validator
from torch import Tensor, nn

from coterie import merging
from coterie.config import DataConfig, EnsembleConfig, ModelConfig, OptimizerConfig, ScheduleConfig, Strict
from coterie.data import Splits
from coterie.ensemble import Ensemble
from coterie.experiments import headlines
from coterie.experiments.artifacts import merge as artifacts
from coterie.experiments.build import (
    build_data_augment,
    build_ensemble,
    build_splits,
    infer_model_kwargs,
    trainer_from_sections,
)
from coterie.experiments.merge_parents import ParentsConfig, parent_indices
from coterie.experiments.registry import ExperimentConfig, register
from coterie.merging.scoring import PopulationScorer
from coterie.merging.state import StateLayout
from coterie.objectives import Independent
from coterie.training import Trainer
from coterie.utils.device import resolve_device
from coterie.utils.measure import measure
from coterie.utils.rundir import RunDir
from coterie.utils.seed import seed_everything

log = logging.getLogger(__name__)

_BASES = ("average", "mega-scalar", "mega-layer", "mega-element")


def parse_variant(name: str) -> tuple[bool, str, bool]:
    """``"aligned-mega-scalar+bn"`` → ``(aligned=True, base="mega-scalar", repair_bn=True)``."""
    repair = name.endswith("+bn")
    core = name[:-3] if repair else name
    aligned = core.startswith("aligned-")
    base = core[len("aligned-") :] if aligned else core
    if base not in _BASES:
        raise ValueError(f"unknown merge variant {name!r}: expected [aligned-]{{{'|'.join(_BASES)}}}[+bn]")
    return aligned, base, repair


class MegaSettings(Strict):
    """MeGA hyper-parameters (seed 003 §4.1: population 20, 20 generations, 4 parents, p_mut 0.02)."""

    population: int = Field(default=20, ge=2)
    generations: int = Field(default=20, ge=1)
    parents: int = Field(default=4, ge=2)
    tournament: int = Field(default=3, ge=1)
    p_mut: float = Field(default=0.02, ge=0.0, le=1.0)
    sigma: float = Field(default=0.01, ge=0.0)
    score_method: Literal["auto", "fused", "vmap", "loop", "naive"] = "auto"


class MergeConfig(ExperimentConfig):
    """``experiment: merge`` — train members independently, merge them, report Tables 1–2 of seed 003."""

    experiment: Literal["merge"] = "merge"
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    members: int = Field(default=8, ge=2, description="members trained independently (pair = members 0 and 1)")
    parents: ParentsConfig = Field(
        default_factory=ParentsConfig,
        description="parents' data order (default per_member: own shuffle) and data (same | disjoint | overlapping)",
    )
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=128, ge=1)
    mega: MegaSettings = Field(default_factory=MegaSettings)
    pair_variants: list[str] = Field(
        default_factory=lambda: [
            "average",
            "average+bn",
            "mega-scalar",
            "mega-scalar+bn",
            "mega-layer",
            "mega-layer+bn",
            "aligned-average",
            "aligned-average+bn",
            "aligned-mega-scalar",
            "aligned-mega-scalar+bn",
            "aligned-mega-layer",
            "aligned-mega-layer+bn",
        ]
    )
    hierarchy_variants: list[str] = Field(
        default_factory=lambda: ["average+bn", "aligned-average+bn", "aligned-mega-scalar+bn", "aligned-mega-layer+bn"]
    )
    bn_samples: int = Field(default=1024, ge=1, description="training samples used to re-estimate BatchNorm stats")
    interpolation_points: int = Field(default=21, ge=0, description="α grid for the segment plot (0 = no plot)")

    @field_validator("pair_variants", "hierarchy_variants")
    @classmethod
    def _known_variants(cls, v: list[str]) -> list[str]:
        for name in v:
            parse_variant(name)
        return v


def _trainer(cfg: MergeConfig, ensemble: Ensemble, splits: Splits, seed: int, run_dir: Path, order: str) -> Trainer:
    """The parents' Trainer, through the one config → Trainer mapping (``seed``: the data-order seed)."""
    return trainer_from_sections(
        ensemble,
        Independent(),
        cfg,
        cfg.optimizer,
        cfg.schedule,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        seed=seed,
        run_dir=run_dir,
        augment=build_data_augment(cfg.data, splits.input_shape),
        data_order=order,
    )


def _train_members(cfg: MergeConfig, splits: Splits, rundir: RunDir) -> tuple[list[nn.Module], list[Tensor] | None]:
    """Train the parents as ``cfg.parents`` says (:mod:`coterie.experiments.merge_parents`); returns them in eval
    mode and each parent's training indices (``None``: all of the training split)."""
    ensemble = build_ensemble(cfg.model, EnsembleConfig(size=cfg.members), splits, cfg.seed)
    p = cfg.parents
    subsets = parent_indices(len(splits.train), cfg.members, p.data, p.fraction, cfg.seed)
    if subsets is None:
        _trainer(cfg, ensemble, splits, cfg.seed, rundir.path / "training", p.data_order).fit(splits.train, splits.val)
    else:
        for i, (member, idx) in enumerate(zip(ensemble.members, subsets)):
            one = Ensemble([member])
            trainer = _trainer(cfg, one, splits, cfg.seed * 1000 + i, rundir.path / "training" / f"parent{i}", "shared")
            trainer.fit((splits.train.x[idx], splits.train.y[idx]), splits.val)
    members = [m.eval() for m in ensemble.members]
    for m in members:
        m.requires_grad_(False)
    return members, subsets


def _merge(
    variant: str,
    models: list[nn.Module],
    cfg: MergeConfig,
    fitness: Any,
    bn_data: Any,
    seed: int,
    hierarchical: bool,
) -> tuple[nn.Module, dict[str, Any]]:
    """One merge variant applied to two models (pair) or to all of them (hierarchy)."""
    aligned, base, repair = parse_variant(variant)
    info: dict[str, Any] = {}
    kw: dict[str, Any] = {}
    if base.startswith("mega"):
        m = cfg.mega
        kw = dict(
            population=m.population,
            generations=m.generations,
            parents=m.parents,
            tournament=m.tournament,
            p_mut=m.p_mut,
            sigma=m.sigma,
            genome=base.split("-", 1)[1],
            score_method=m.score_method,
            progress=False,
        )
    method = "average" if base == "average" else "mega"
    if hierarchical:
        merged, record = merging.hierarchical(
            models,
            method,
            fitness_data=fitness,
            bn_data=bn_data if repair else None,
            align=aligned,
            repair_bn=repair,
            seed=seed,
            **kw,
        )
        info["levels"] = record.levels
        return merged, info
    a, b = models
    if aligned:
        b = merging.align(a, b)
    if method == "average":
        merged = merging.average([a, b])
    else:
        merged, history = merging.mega([a, b], fitness, bn_data=bn_data if repair else None, seed=seed, **kw)
        info["history"] = history.to_dict()
    if repair:
        merging.bn.recompute(merged, bn_data)
    return merged, info


@torch.no_grad()
def _segment(a: nn.Module, b: nn.Module, points: int, data: Any, bn_batches: Any) -> dict[str, list[float]]:
    """Accuracy of (1 − α) θ_b + α θ_a on ``data`` along α ∈ [0, 1] (and with BatchNorm repair when relevant)."""
    layout = StateLayout(a)
    ta, tb = layout.flatten(a), layout.flatten(b)
    alphas = torch.linspace(0, 1, points)
    pop = tb + alphas.unsqueeze(1) * (ta - tb)
    scorer = PopulationScorer(layout, merging.as_batches(data, role="test", batch_size=1024, device=ta.device))
    out = {"alpha": alphas.tolist(), "acc": scorer(pop).tolist()}
    if bn_batches is not None:
        merging.bn.recompute_population(layout, pop, bn_batches)
        out["acc_bn"] = scorer(pop).tolist()
    return out


def _table(title: str, parents: list[dict[str, Any]], ensemble_acc: float, merged: dict[str, Any]) -> str:
    """A markdown table in the layout of seed 003 Tables 1–2 plus the output ensemble and every variant."""
    best = max(p["test_acc"] for p in parents)
    avg = merged.get("average", {}).get("test_acc")
    lines = [
        f"### {title}",
        "",
        "| model | seed | val acc | test acc |",
        "|---|---|---|---|",
    ]
    lines += [f"| parent {p['member']} | {p['seed']} | {p['val_acc']:.4f} | {p['test_acc']:.4f} |" for p in parents]
    lines += [f"| output ensemble (mean prob.) | | | {ensemble_acc:.4f} |", ""]
    lines += [
        "| merged variant | val acc | test acc | Δ vs best parent | Δ vs plain average | scalar α | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, r in merged.items():
        d_avg = f"{r['test_acc'] - avg:+.4f}" if avg is not None else "n/a"
        a = r.get("history", {}).get("alpha")
        a_txt = f"{a:.3f}" if isinstance(a, float) else ""
        lines.append(
            f"| {name} | {r['val_acc']:.4f} | {r['test_acc']:.4f} | {r['test_acc'] - best:+.4f} | {d_avg} | {a_txt} "
            f"| {r['seconds']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _plots(rundir: RunDir, pair: dict[str, Any], segments: dict[str, dict[str, list[float]]]) -> None:
    from coterie.utils.figures import subplots

    hist = {k: v["history"] for k, v in pair["merged"].items() if "history" in v}
    if hist:
        fig, ax = subplots(figsize=(6.5, 4))
        for name, h in hist.items():
            gens = range(1, len(h["best"]) + 1)
            (line,) = ax.plot(gens, h["best"], marker="o", ms=3, label=f"{name} best")
            ax.plot(gens, h["mean"], ls="--", color=line.get_color(), alpha=0.6)
        ax.set_xlabel("generation")
        ax.set_ylabel("fitness (validation accuracy)")
        ax.set_title("MeGA fitness progression (solid: best, dashed: mean)")
        ax.legend(fontsize=7)
        rundir.save_figure(fig, "fitness_progression.png")
    if segments:
        fig, ax = subplots(figsize=(6.5, 4))
        for name, s in segments.items():
            ax.plot(s["alpha"], s["acc"], marker=".", label=name)
            if "acc_bn" in s:
                ax.plot(s["alpha"], s["acc_bn"], marker=".", ls="--", label=f"{name} + BN repair")
        ax.set_xlabel("α  (θ = α θ₀ + (1 − α) θ₁)")
        ax.set_ylabel("test accuracy")
        ax.set_title("accuracy along the segment between parents 0 and 1")
        ax.legend(fontsize=8)
        rundir.save_figure(fig, "interpolation.png")


@torch.no_grad()
def _ensemble_acc(members: list[nn.Module], x: Tensor, y: Tensor, device: torch.device) -> tuple[float, float]:
    """Accuracy of the output ensemble (mean of member probabilities) of members 0–1 and of all members."""
    probs = torch.stack([m(x.to(device)).softmax(-1) for m in members])  # (N, B, C)
    y = y.to(device)
    pair = float((probs[:2].mean(0).argmax(-1) == y).float().mean())
    return pair, float((probs.mean(0).argmax(-1) == y).float().mean())


def _parents_summary(cfg: MergeConfig, n: int, subsets: list[Tensor] | None) -> dict[str, Any]:
    """What each parent trained on: the setting, its sample count, and the overlap of neighbours 0–1."""
    p = cfg.parents
    out: dict[str, Any] = {"data": p.data, "data_order": p.data_order, "fraction": p.fraction, "train_samples": n}
    if subsets is None:
        out.update(samples_per_parent=[n] * cfg.members, overlap_0_1=n)
    else:
        out["samples_per_parent"] = [len(s) for s in subsets]
        out["overlap_0_1"] = len(set(subsets[0].tolist()) & set(subsets[1].tolist()))
    return out


@register(
    "merge",
    MergeConfig,
    "train members independently and merge them (average, MeGA, alignment, BN repair); "
    "load: {parents: [net], pair: {variant: net}, hierarchy: {variant: net}}",
    load=artifacts.load,
    headline=headlines.merge,
)
def run_merge(cfg: MergeConfig, rundir: RunDir) -> dict[str, Any]:
    """Train, merge (pair and hierarchy), evaluate every variant on the test split, write tables and plots."""
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    splits = build_splits(cfg.data, cfg.seed)
    t0 = time.perf_counter()
    trained, subsets = _train_members(cfg, splits, rundir)
    members = [m.to(device) for m in trained]
    train_seconds = time.perf_counter() - t0
    has_bn = merging.bn.has_batchnorm(members[0])
    kw = infer_model_kwargs(cfg.model.name, splits.input_shape, splits.num_classes, cfg.model.kwargs)
    artifacts.save_parents(rundir, cfg.model.name, kw, members)
    fitness = splits.val.tensors()  # fitness: validation split only
    n_bn = min(cfg.bn_samples, len(splits.train))
    bn_data = (splits.train.x[:n_bn], splits.train.y[:n_bn])  # BatchNorm statistics: training split
    test = merging.held_out(splits.test)  # test: reporting only

    def report(m: nn.Module) -> dict[str, float]:
        return {"val_acc": merging.evaluate(m, fitness)["accuracy"], "test_acc": merging.evaluate(m, test)["accuracy"]}

    parents = []
    for i, m in enumerate(members):
        r = report(m)
        parents.append({"member": i, "seed": cfg.seed * 1000 + i, **r})
    ens_pair, ens_all = _ensemble_acc(members, splits.test.x, splits.test.y, device)
    ens_pair_val, ens_all_val = _ensemble_acc(members, splits.val.x, splits.val.y, device)

    def run_variants(variants: list[str], models: list[nn.Module], hierarchical: bool) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for k, name in enumerate(variants):
            if name.endswith("+bn") and not has_bn:
                log.info("skipping %s: the model has no BatchNorm", name)
                continue
            with measure() as cost:  # time and peak memory of the merge alone (evaluation excluded)
                merged, info = _merge(name, models, cfg, fitness, bn_data, cfg.seed * 100 + k, hierarchical)
            r = {**report(merged), "seconds": cost["seconds"], "cost": cost, **info}
            out[name] = r
            artifacts.save_merged(rundir, cfg.model.name, kw, "hierarchy" if hierarchical else "pair", name, merged)
            record = {"stage": "hierarchy" if hierarchical else "pair", "variant": name, **r}
            rundir.log_metrics(record, key=("stage", "variant"))  # a resumed run redoes the merges
            log.info(
                "%s %s: val %.4f test %.4f", "hierarchy" if hierarchical else "pair", name, r["val_acc"], r["test_acc"]
            )
        return out

    pair = {"parents": parents[:2], "ensemble_test_acc": ens_pair, "ensemble_val_acc": ens_pair_val}
    pair["merged"] = run_variants(cfg.pair_variants, members[:2], hierarchical=False)
    results: dict[str, Any] = {
        "experiment": "merge",
        "model": cfg.model.name,
        "data": cfg.data.name,
        "has_batchnorm": has_bn,
        "parameters": sum(p.numel() for p in members[0].parameters()),
        "train_seconds": train_seconds,
        "parents_data": _parents_summary(cfg, len(splits.train), subsets),
        "pair": pair,
    }
    tables = [
        _table(
            f"Pair merge (seed 003 Table 1 layout): {cfg.model.name} on {cfg.data.name}",
            pair["parents"],
            ens_pair,
            pair["merged"],
        )
    ]
    if cfg.hierarchy_variants and cfg.members >= 3:
        hier = {"parents": parents, "ensemble_test_acc": ens_all, "ensemble_val_acc": ens_all_val}
        hier["merged"] = run_variants(cfg.hierarchy_variants, members, hierarchical=True)
        results["hierarchy"] = hier
        tables.append(
            _table(f"Hierarchical merge of {cfg.members} (seed 003 Table 2 layout)", parents, ens_all, hier["merged"])
        )
    segments: dict[str, dict[str, list[float]]] = {}
    if cfg.interpolation_points >= 2:
        bn_batches = merging.as_batches(bn_data, role="bn", device=device) if has_bn else None
        a, b = members[0], members[1]
        segments["raw"] = _segment(a, b, cfg.interpolation_points, test, bn_batches)
        segments["aligned"] = _segment(
            a, merging.align(a, copy.deepcopy(b)), cfg.interpolation_points, test, bn_batches
        )
        results["segments"] = segments
    _plots(rundir, pair, segments)
    (rundir.path / "report.md").write_text("\n".join(tables))
    return results
