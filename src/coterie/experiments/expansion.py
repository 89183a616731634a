"""``experiment: expansion`` — expanding and boosting a trained co-learning ensemble (seed 000 §3.4, Table S5).

Data order: shared (every member of a variant sees the same batch — the coupled members need it).

One run (one seed, one random split) does, in sub-directories of its run directory (each resumable):

1. ``base``: train ``base_size`` members (10 in the paper) with co-learning at ``beta_bar`` (β = β̄/N) for
   ``base_epochs``;
2. ``add-freeze`` (for each β̄ in ``add_freeze_beta_bars``; the paper: β = 0 and β = −0.07 ≈ −1/15): add ``add``
   new members (5) coupled at β̄/(base+add) to each other *and to the frozen existing members*, which never update
   (with β̄ = 0 the new members train independently); ``extra_epochs``;
3. ``add-retrain``: the same, but the existing members keep training with the new ones;
4. ``scratch``: ``base_size + add`` members trained from scratch with the same β̄ for ``base_epochs`` and for
   ``base_epochs + extra_epochs`` (the paper's 150 and 300 epochs);
5. ``boost`` (for each margin m in ``boost_margins``): ``add`` new independent members trained only on the
   training samples near the base ensemble's decision border — those on which between ``base/2 − m`` and
   ``base/2 + m`` of the existing members vote correctly (5/5 for m = 0) — then combined with the base members.

Every variant's ensemble is saved as ``ensemble-<variant>.safetensors``
(:mod:`coterie.experiments.artifacts.expansion`); ``coterie.load(run_dir)`` returns ``{variant: Ensemble}`` in eval
mode (``which``: final or best, the same weights).

Every variant is evaluated on the test split (mean rule, plus geometric and vote); nothing is selected on it.
``results.json`` holds one entry per variant (``methods``) and flattened ``<method>.test_acc`` figures for sweeps.

This module also imports :mod:`coterie.experiments.sweep_colearn`, which registers ``experiment: colearn``.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import Field

import coterie.experiments.sweep_colearn  # noqa: F401  (registers ``experiment: colearn``)
from coterie.analysis.agreement import decision_border_mask
from coterie.config import DataConfig, ModelConfig, OptimizerConfig, ScheduleConfig
from coterie.data import Splits
from coterie.data.augment import BatchAugment
from coterie.ensemble import Ensemble
from coterie.experiments.artifacts import expansion as artifacts
from coterie.experiments.build import build_data_augment, build_splits, resolved_model_kwargs, trainer_from_sections
from coterie.experiments.registry import ExperimentConfig, register
from coterie.metrics import ensemble_summary
from coterie.objectives import CoLearning
from coterie.training import Trainer
from coterie.utils.rundir import RunDir
from coterie.utils.seed import seed_everything

log = logging.getLogger(__name__)

Method = Literal["add-freeze", "add-retrain", "scratch", "boost"]


class ExpansionConfig(ExperimentConfig):
    """``experiment: expansion`` — see the module docstring."""

    experiment: Literal["expansion"] = "expansion"
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    base_size: int = Field(default=10, ge=2)
    add: int = Field(default=5, ge=1)
    beta_bar: float = Field(default=-1.0, description="co-learning β̄ of the base ensemble (β = β̄/N)")
    add_freeze_beta_bars: list[float] = Field(default_factory=lambda: [0.0, -1.0])
    boost_margins: list[int] = Field(default_factory=lambda: [0, 1, 2])
    methods: list[Method] = Field(default_factory=lambda: ["add-freeze", "add-retrain", "scratch", "boost"])
    base_epochs: int = Field(default=20, ge=1)
    extra_epochs: int = Field(default=20, ge=1)
    batch_size: int = Field(default=128, ge=1)
    executor: Literal["auto", "loop", "fused", "vmap"] = "auto"
    max_steps_per_epoch: int | None = Field(default=None, ge=1)


def _new_members(cfg: ExpansionConfig, splits: Splits, n: int, seed: int) -> list[torch.nn.Module]:
    """``n`` fresh members of the model section, member i initialised from ``seed + i``."""
    kwargs = resolved_model_kwargs(cfg.model, splits)
    return list(Ensemble.from_factory(cfg.model.name, n, seed=seed, executor="loop", **kwargs).members)


def _trainer(
    cfg: ExpansionConfig,
    ens: Ensemble,
    beta_bar: float,
    epochs: int,
    run_dir: Path,
    seed: int,
    frozen: tuple[int, ...] = (),
    augment: BatchAugment | None = None,
) -> Trainer:
    return trainer_from_sections(
        ens,
        CoLearning(beta_bar, normalize=True),
        cfg,
        cfg.optimizer,
        cfg.schedule,
        epochs=epochs,
        batch_size=cfg.batch_size,
        seed=seed,
        run_dir=run_dir,
        augment=augment,
        frozen=frozen,
        max_steps_per_epoch=cfg.max_steps_per_epoch,
        progress=False,
    )


def _evaluate(ens: Ensemble, splits: Splits, trainer: Trainer) -> dict[str, Any]:
    test = ensemble_summary(trainer.predict(splits.test.x), splits.test.y)
    val = ensemble_summary(trainer.predict(splits.val.x), splits.val.y)
    return {
        "n_members": len(ens),
        "test_acc": test["ens_acc_mean"],
        "test_acc_geometric": test["ens_acc_geometric"],
        "test_acc_vote": test["ens_acc_vote"],
        "test_member_acc_mean": test["member_acc_mean"],
        "test_mean_js": test["mean_js"],
        "val_acc": val["ens_acc_mean"],
    }


@register(
    "expansion",
    ExpansionConfig,
    "expand / boost a trained co-learning ensemble (seed 000 §3.4, Table S5); load: {variant: Ensemble}",
    load=artifacts.load,
)
def run_expansion(cfg: ExpansionConfig, rundir: RunDir) -> dict[str, Any]:
    """Base ensemble, then every requested expansion variant (see the module docstring)."""
    seed_everything(cfg.seed)
    splits = build_splits(cfg.data, cfg.seed)
    aug = build_data_augment(cfg.data, splits.input_shape)  # training batches only; fails here if it does not fit
    n0, k = cfg.base_size, cfg.add
    root = rundir.path
    methods: dict[str, dict[str, Any]] = {}
    kw = resolved_model_kwargs(cfg.model, splits)

    base = Ensemble(_new_members(cfg, splits, n0, cfg.seed * 1000), executor=cfg.executor)
    tr = _trainer(cfg, base, cfg.beta_bar, cfg.base_epochs, root / "base", cfg.seed, augment=aug)
    tr.fit(splits.train, splits.val)
    methods["base"] = {"method": f"{n0} networks", "beta_bar": cfg.beta_bar, **_evaluate(base, splits, tr)}
    artifacts.save_variant(rundir, cfg.model.name, kw, "base", base)
    base_state = [copy.deepcopy(m).cpu() for m in base.members]
    new_seed = cfg.seed * 1000 + 500

    def expanded() -> Ensemble:
        return Ensemble(
            [copy.deepcopy(m) for m in base_state] + _new_members(cfg, splits, k, new_seed), executor=cfg.executor
        )

    if "add-freeze" in cfg.methods:
        for bb in cfg.add_freeze_beta_bars:
            ens = expanded()
            t = _trainer(
                cfg,
                ens,
                bb,
                cfg.extra_epochs,
                root / f"add-freeze_{bb:+g}",
                cfg.seed + 1,
                frozen=tuple(range(n0)),
                augment=aug,
            )
            t.fit(splits.train, splits.val)
            methods[f"add-freeze_{bb:+g}"] = {"method": "add-freeze", "beta_bar": bb, **_evaluate(ens, splits, t)}
            artifacts.save_variant(rundir, cfg.model.name, kw, f"add-freeze_{bb:+g}", ens)
    if "add-retrain" in cfg.methods:
        ens = expanded()
        t = _trainer(cfg, ens, cfg.beta_bar, cfg.extra_epochs, root / "add-retrain", cfg.seed + 1, augment=aug)
        t.fit(splits.train, splits.val)
        methods["add-retrain"] = {"method": "add-retrain", "beta_bar": cfg.beta_bar, **_evaluate(ens, splits, t)}
        artifacts.save_variant(rundir, cfg.model.name, kw, "add-retrain", ens)
    if "scratch" in cfg.methods:
        for epochs in sorted({cfg.base_epochs, cfg.base_epochs + cfg.extra_epochs}):
            ens = Ensemble(_new_members(cfg, splits, n0 + k, cfg.seed * 1000 + 700), executor=cfg.executor)
            t = _trainer(cfg, ens, cfg.beta_bar, epochs, root / f"scratch_{epochs}ep", cfg.seed + 2, augment=aug)
            t.fit(splits.train, splits.val)
            methods[f"scratch_{epochs}ep"] = {
                "method": f"{n0 + k} networks from scratch ({epochs} epochs)",
                "beta_bar": cfg.beta_bar,
                **_evaluate(ens, splits, t),
            }
            artifacts.save_variant(rundir, cfg.model.name, kw, f"scratch_{epochs}ep", ens)
    if "boost" in cfg.methods:
        train_logits = tr.predict(splits.train.x)
        for m in cfg.boost_margins:
            mask = decision_border_mask(train_logits, splits.train.y, m)
            subset = splits.train.subset(mask.nonzero().squeeze(1))
            entry: dict[str, Any] = {"method": "boost", "margin": m, "beta_bar": 0.0, "subset_size": len(subset)}
            if len(subset) == 0:
                log.warning("boost m=%d: no training sample on the decision border; skipped", m)
                methods[f"boost_m{m}"] = {**entry, "test_acc": None}
                continue
            new = Ensemble(_new_members(cfg, splits, k, new_seed), executor=cfg.executor)
            t = _trainer(cfg, new, 0.0, cfg.extra_epochs, root / f"boost_m{m}", cfg.seed + 3, augment=aug)
            t.fit(subset, splits.val)
            ens = Ensemble(
                [copy.deepcopy(x) for x in base_state] + [x.cpu() for x in new.members], executor=cfg.executor
            )
            methods[f"boost_m{m}"] = {
                **entry,
                **_evaluate(ens, splits, _trainer(cfg, ens, 0.0, 1, root / "_eval", cfg.seed)),
            }
            artifacts.save_variant(rundir, cfg.model.name, kw, f"boost_m{m}", ens)
    return {
        "experiment": "expansion",
        "base_size": n0,
        "add": k,
        "methods": methods,
        "test_acc": {name: v.get("test_acc") for name, v in methods.items()},
    }
