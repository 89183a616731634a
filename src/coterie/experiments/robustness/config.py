"""Configuration of ``experiment: robustness``: methods (targets), attacks, scoring rules and the run's size."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from coterie.attacks.evaluate import AttackSettings
from coterie.config import DataConfig, ModelConfig, ObjectiveConfig, OptimizerConfig, ScheduleConfig, Strict
from coterie.data.augment import validate_augment_spec
from coterie.experiments.registry import ExperimentConfig

AttackName = Literal["fgsm", "bim", "mim", "pgd"]
RuleName = Literal["vote", "mean", "geometric", "logit_mean"]


class MethodConfig(Strict):
    """One target ensemble: a label (table row), its objective, optional epochs and a method to start from.

    ``augment``, when given, replaces ``data.augment`` for this method's training batches, and ``model_kwargs`` are
    merged over ``model.kwargs`` for this method's members. GAL's official run uses both: Gaussian noise
    (``augment: {gaussian_noise_std: 0.045, gaussian_noise_prob: 0.5}`` on top of the others' augmentation) and
    leaky-ReLU members (``model_kwargs: {activation: leaky_relu}``) — see :mod:`coterie.objectives.gal`.
    """

    label: str
    objective: ObjectiveConfig = Field(default_factory=ObjectiveConfig)
    epochs: int | None = Field(default=None, ge=1)
    init_from: str | None = None
    augment: dict[str, Any] | None = None
    model_kwargs: dict[str, Any] = Field(default_factory=dict)

    @field_validator("augment")
    @classmethod
    def _augment_keys(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return validate_augment_spec(v) if v is not None else None

    def augment_spec(self, data: DataConfig) -> dict[str, Any] | None:
        """This method's training augmentation: its own ``augment`` if set, else ``data.augment``."""
        return self.augment if self.augment is not None else data.augment


def default_methods() -> list[MethodConfig]:
    """Seed 002 §5.1: ENS_U, ENS_ADP, ENS_GAL, ENS_DVERGE, ENS_PARL with their official defaults."""
    return [
        MethodConfig(label="unprotected", objective=ObjectiveConfig(name="independent")),
        MethodConfig(label="ADP", objective=ObjectiveConfig(name="adp", params={"alpha": 2.0, "beta": 0.5})),
        MethodConfig(label="GAL", objective=ObjectiveConfig(name="gal", params={"lam": 0.5})),
        MethodConfig(label="DVERGE", objective=ObjectiveConfig(name="dverge", params={"eps": 0.07})),
        MethodConfig(
            label="PARL", objective=ObjectiveConfig(name="parl", params={"gamma1": 1.0, "gamma2": 0.5, "layers": 7})
        ),
    ]


class AttackConfig(Strict):
    """Attacks and their settings (defaults: seed 002 §5.1).

    ``decay`` is MIM's momentum μ (seed 002: 0.01, which makes MIM practically BIM; the MIM paper: 1.0);
    ``extra_mim_decays`` adds one more MIM attack per value, reported as ``mim_mu<μ>`` (e.g. ``mim_mu1``).
    ``rule`` is the primary scoring rule (the ``table1``/``curves`` layout); every rule in ``rules`` is reported in
    the ``*_by_rule`` results and the ``records`` rows (defaults: seed 002's majority ``vote`` and ``mean``
    probability). ``eval_split: val`` measures clean and attacked accuracy on the validation split instead of the
    test split, for choosing coefficients without touching test data (:mod:`~.select`).
    """

    names: list[AttackName] = Field(default_factory=lambda: ["fgsm", "bim", "mim", "pgd"])
    eps: list[float] = Field(default_factory=lambda: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07])
    whitebox: bool = True
    whitebox_eps: list[float] | None = None
    steps: int = Field(default=50, ge=1)
    step_size: float | None = Field(default=None, gt=0)
    decay: float = Field(default=0.01, ge=0)
    extra_mim_decays: list[float] = Field(default_factory=list)
    restarts: int = Field(default=10, ge=1)
    head: Literal["mean_prob", "mean_logit", "mean_ce"] = "mean_prob"
    loss: Literal["ce", "cw"] = "ce"
    rule: RuleName = "vote"
    rules: list[RuleName] = Field(default_factory=lambda: ["vote", "mean"])
    eval_split: Literal["test", "val"] = "test"
    n_eval: int = Field(default=1000, ge=1)
    batch_size: int = Field(default=500, ge=1)

    @model_validator(mode="after")
    def _check(self) -> AttackConfig:
        for e in [*self.eps, *(self.whitebox_eps or [])]:
            if not 0.0 <= e <= 1.0:
                raise ValueError(f"every ε must lie in [0, 1] (inputs live in [0, 1]), got {e}")
        if not self.eps:
            raise ValueError("eps must list at least one attack strength")
        if any(d < 0 for d in self.extra_mim_decays):
            raise ValueError(f"extra_mim_decays must be >= 0, got {self.extra_mim_decays}")
        if not self.rules:
            raise ValueError("rules must list at least one scoring rule")
        return self

    def reported_rules(self) -> list[RuleName]:
        """The primary ``rule`` first, then the other ``rules`` (each once)."""
        return [self.rule, *(r for r in dict.fromkeys(self.rules) if r != self.rule)]

    def settings(self, decay: float | None = None) -> AttackSettings:
        """The attack settings (MIM's μ = ``decay`` when given, else ``self.decay``)."""
        return AttackSettings(
            steps=self.steps,
            step_size=self.step_size,
            decay=self.decay if decay is None else decay,
            restarts=self.restarts,
            head=self.head,
            loss=self.loss,
            rule=self.rule,
            batch_size=self.batch_size,
        )

    def jobs(self) -> list[tuple[str, AttackName, AttackSettings]]:
        """``(label, attack, settings)`` per reported attack: the configured names, then one MIM per extra μ."""
        out: list[tuple[str, AttackName, AttackSettings]] = [(a, a, self.settings()) for a in self.names]
        out += [(f"mim_mu{d:g}", "mim", self.settings(d)) for d in self.extra_mim_decays]
        return out


class RobustnessConfig(ExperimentConfig):
    """``experiment: robustness`` — seed 002 Table 1, Figs 2–5."""

    experiment: Literal["robustness"] = "robustness"
    data: DataConfig = Field(default_factory=lambda: DataConfig(name="digits"))
    input_scaling: Literal["none", "minmax"] = "none"
    model: ModelConfig = Field(default_factory=lambda: ModelConfig(name="resnet20"))
    members: int = Field(default=3, ge=1)
    optimizer: OptimizerConfig = Field(default_factory=lambda: OptimizerConfig(name="adam", lr=1e-3))
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=128, ge=1)
    max_steps_per_epoch: int | None = Field(default=None, ge=1)
    methods: list[MethodConfig] = Field(default_factory=default_methods)
    parl_ablation: list[int] = Field(default_factory=list, description="extra PARL/K targets (Table 2, Fig. 5)")
    parl_label: str = "PARL"
    baseline_label: str = "unprotected"
    surrogate_seed_offset: int = Field(default=1, ge=1)
    attack: AttackConfig = Field(default_factory=AttackConfig)
    cka: bool = True
    repeats: int = Field(default=1, ge=1)
    first_repeat: int = Field(default=0, ge=0, description="index of the first repeat (its seed is seed + index)")

    @model_validator(mode="after")
    def _methods(self) -> RobustnessConfig:
        labels = [m.label for m in self.methods]
        if len(set(labels)) != len(labels):
            raise ValueError(f"method labels must be unique, got {labels}")
        for i, m in enumerate(self.methods):
            if m.init_from is not None and m.init_from not in labels[:i]:
                raise ValueError(f"method {m.label!r}: init_from {m.init_from!r} must name an earlier method")
        if self.parl_ablation and self.parl_label not in labels:
            raise ValueError(f"parl_ablation needs a method labelled {self.parl_label!r}")
        if any(k < 1 for k in self.parl_ablation):
            raise ValueError("parl_ablation values are layer counts K >= 1")
        return self


def all_methods(cfg: RobustnessConfig) -> list[MethodConfig]:
    """The configured methods plus one ``PARL/K`` copy of the PARL method per ablation K."""
    methods = list(cfg.methods)
    parl = next((m for m in methods if m.label == cfg.parl_label), None)
    for k in cfg.parl_ablation:
        assert parl is not None
        obj = ObjectiveConfig(name=parl.objective.name, params={**parl.objective.params, "layers": k})
        methods.append(
            MethodConfig(
                label=f"{cfg.parl_label}/{k}",
                objective=obj,
                epochs=parl.epochs,
                augment=parl.augment,
                model_kwargs=parl.model_kwargs,
            )
        )
    return methods
