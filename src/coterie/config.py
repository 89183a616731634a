"""Typed, validated experiment configuration loaded from YAML.

A config file names its experiment (``experiment: train`` by default) and is validated against that experiment's
pydantic class before any work starts: an unknown field, a wrong type or a value outside what is allowed raises
:class:`ConfigError` naming the field and what is allowed. Model and objective arguments are checked against the
registered factories' signatures, so a typo there fails early too.
"""

from __future__ import annotations

import copy
import difflib
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from coterie import experiment_registry as experiments
from coterie.experiment_registry import ExperimentConfig
from coterie.utils.errors import InputError


class ConfigError(InputError):
    """An invalid configuration; the message names each offending field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class DataConfig(Strict):
    """Dataset and its seeded split. ``split_seed`` defaults to the run's seed (a new random split per seed, as in
    seed 000's protocol). ``split: random`` pools the data and splits it (``test_fraction`` defaults to 0.2);
    ``split: official`` tests on the dataset's own test set and carves validation from its own training set
    (``test_fraction`` is refused). ``augment`` is applied to training batches (coterie.data.augment)."""

    name: str = "mnist1d"
    num_samples: int | None = Field(default=None, gt=0, description="MNIST-1D: samples to generate")
    data_dir: str | None = None
    split: Literal["random", "official"] = "random"
    val_fraction: float = Field(
        default=0.1, gt=0.0, lt=1.0, description="> 0: every experiment validates (best weights, convergence)"
    )
    test_fraction: float | None = Field(default=None, ge=0.0, lt=1.0, description="random split only; default 0.2")
    split_seed: int | None = None
    augment: dict[str, Any] | None = None

    @field_validator("augment")
    @classmethod
    def _augment_keys(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        from coterie.data.augment import validate_augment_spec

        return validate_augment_spec(v)

    @model_validator(mode="after")
    def _split_and_augment(self) -> DataConfig:
        from coterie.data.augment import check_augment_fits
        from coterie.data.splits import check_split, known_input_shape

        check_split(self.name, self.split, self.test_fraction)
        shape = known_input_shape(self.name)
        if shape is not None:
            check_augment_fits(self.augment, shape)
        return self

    @field_validator("name")
    @classmethod
    def _known(cls, v: str) -> str:
        from coterie import data

        if v not in data.names():
            raise ValueError(f"unknown dataset {v!r}; allowed: {data.names()}")
        return v

    @model_validator(mode="after")
    def _loader_options(self) -> DataConfig:
        from coterie.data.registry import loader_options, names

        for option in ("num_samples", "data_dir"):
            if getattr(self, option) is not None and option not in loader_options(self.name):
                takers = [n for n in names() if option in loader_options(n)]
                raise ValueError(f"data.{option} does not apply to dataset {self.name!r}; it is read for {takers}")
        return self

    @model_validator(mode="after")
    def _fractions(self) -> DataConfig:
        if self.val_fraction + (self.test_fraction or 0.0) >= 1:
            raise ValueError("val_fraction + test_fraction must be < 1")
        return self


class ModelConfig(Strict):
    """A registered model and its keyword arguments (``num_classes``/``in_features``/``in_channels`` are filled in
    from the data when omitted)."""

    name: str = "mlp"
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> ModelConfig:
        from coterie.models import registry

        if self.name not in registry.names():
            raise ValueError(f"unknown model {self.name!r}; allowed: {registry.names()}")
        registry.MODELS.check_kwargs(self.name, self.kwargs)  # a ValueError naming the allowed arguments
        return self


class EnsembleConfig(Strict):
    size: int = Field(default=5, ge=1)
    executor: Literal["auto", "loop", "fused", "vmap"] = "auto"


class ObjectiveConfig(Strict):
    """A registered objective and its parameters, e.g. ``{name: colearning, params: {beta: -1, normalize: true}}``."""

    name: str = "independent"
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known(self) -> ObjectiveConfig:
        from coterie.objectives import base

        if self.name not in base.names():
            raise ValueError(f"unknown objective {self.name!r}; allowed: {base.names()}")
        base.OBJECTIVES.check_kwargs(self.name, self.params)
        return self


class OptimizerConfig(Strict):
    name: Literal["sgd", "adam", "adamw"] = "sgd"
    lr: float = Field(default=0.01, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    nesterov: bool = False

    @model_validator(mode="after")
    def _sgd_only(self) -> OptimizerConfig:
        # a field counts when it differs from its default: a dumped config (config.yaml) carries every field
        fields = type(self).model_fields
        sgd_only = [k for k in ("momentum", "nesterov") if getattr(self, k) != fields[k].default]
        if self.name != "sgd" and sgd_only:
            raise ValueError(f"optimizer.{', optimizer.'.join(sgd_only)}: SGD only, not read by {self.name!r}")
        return self


class ScheduleConfig(Strict):
    """Learning-rate schedule, stepped per epoch (:mod:`coterie.training.schedules`): ``constant``, ``cosine``,
    ``step`` (``step_size``, ``gamma``) or ``multistep`` (``milestones``, ``gamma``), times a linear warmup over the
    first ``warmup_epochs`` epochs."""

    name: Literal["constant", "cosine", "step", "multistep"] = "constant"
    step_size: int = Field(default=30, ge=1)
    gamma: float = Field(default=0.1, gt=0)
    milestones: list[int] = Field(default_factory=list)
    warmup_epochs: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _milestones(self) -> ScheduleConfig:
        from coterie.training.schedules import check_milestones

        check_milestones(self.name, self.milestones)
        return self


class TrainConfig(ExperimentConfig):
    """``experiment: train`` — train one ensemble under one objective and evaluate it."""

    experiment: Literal["train"] = "train"
    data: DataConfig = Field(default_factory=DataConfig)
    model: ModelConfig = Field(default_factory=ModelConfig)
    ensemble: EnsembleConfig = Field(default_factory=EnsembleConfig)
    objective: ObjectiveConfig = Field(default_factory=ObjectiveConfig)
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    epochs: int = Field(default=10, ge=1)
    batch_size: int = Field(default=128, ge=1)
    frozen: list[int] = Field(default_factory=list)
    checkpoint_every: int = Field(default=1, ge=1)
    max_steps_per_epoch: int | None = Field(default=None, ge=1)
    data_order: Literal["shared", "per_member"] = "shared"
    bootstrap: bool = False
    amp: Literal["off", "bf16", "fp16"] = "off"
    best_metric: str = Field(default="val_ens_acc_mean", description="picks best.safetensors; nll/ece/brier: min")

    @field_validator("amp", mode="before")
    @classmethod
    def _amp_off(cls, v: Any) -> Any:
        return "off" if v is False else v  # YAML 1.1 reads a bare `off` (amp: off, --set amp=off) as false

    @field_validator("best_metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        from coterie.training.best_weights import check_metric

        return check_metric(v)

    @model_validator(mode="after")
    def _frozen_in_range(self) -> TrainConfig:
        bad = [i for i in self.frozen if not 0 <= i < self.ensemble.size]
        if bad:
            raise ValueError(f"frozen indices {bad} out of range for ensemble.size={self.ensemble.size}")
        return self


def _fields_at(schema: type[BaseModel], loc: Sequence[str | int]) -> list[str] | None:
    """The field names of the model found by following ``loc`` from ``schema`` (through nested models, lists and
    optional/union annotations), or None when the path leads elsewhere."""
    cls: Any = schema
    for part in loc:
        if isinstance(part, int):
            continue  # a list item: the list's own annotation was unwrapped at the field
        field = getattr(cls, "model_fields", {}).get(part)
        if field is None:
            return None
        cls = _model_in(field.annotation)
        if cls is None:
            return None
    return sorted(getattr(cls, "model_fields", {})) or None


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The BaseModel class inside an annotation (``M``, ``M | None``, ``list[M]``), if exactly one."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    models_in = [m for a in typing.get_args(annotation) if (m := _model_in(a)) is not None]
    return models_in[0] if len(models_in) == 1 else None


def format_validation_error(err: ValidationError, schema: type[BaseModel] | None = None) -> str:
    """One line per error: the dotted field, what is wrong, and what is allowed (an unknown field lists the section's
    fields, closest first when one is close, when ``schema`` is given)."""
    lines = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
            fields = _fields_at(schema, e["loc"][:-1]) if schema is not None else None
            if fields:
                close = difflib.get_close_matches(str(e["loc"][-1]), fields, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                msg += f" ({hint}allowed: {', '.join(fields)})"
        ctx = e.get("ctx") or {}
        if "expected" in ctx:
            msg += f" (allowed: {ctx['expected']})"
        lines.append(f"  {loc}: {msg}")
    return "invalid configuration:\n" + "\n".join(lines)


def validate_config(raw: Mapping[str, Any]) -> ExperimentConfig:
    """Validate a config mapping against its experiment's schema; raises :class:`ConfigError`."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"a config must be a mapping, got {type(raw).__name__}")
    raw = dict(raw)
    raw.setdefault("experiment", "train")
    name = raw["experiment"]
    try:
        exp = experiments.get(str(name))
    except KeyError as e:
        raise ConfigError(f"invalid configuration:\n  experiment: {e.args[0]}") from None
    try:
        return exp.config_cls.model_validate(raw)
    except ValidationError as e:
        raise ConfigError(format_validation_error(e, exp.config_cls)) from None


def load_config(source: str | Path | Mapping[str, Any]) -> ExperimentConfig:
    """Load and validate a YAML file (or a mapping)."""
    if isinstance(source, Mapping):
        return validate_config(source)
    path = Path(source)
    if not path.exists():
        raise ConfigError(f"config file {path} does not exist")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as e:
        raise ConfigError(f"{path} is not valid YAML: {e}") from None
    return validate_config(raw or {})


def set_dotted(d: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``d["a"]["b"] = value`` for ``dotted == "a.b"``, creating intermediate mappings."""
    keys = dotted.split(".")
    cur = d
    for k in keys[:-1]:
        nxt = cur.get(k)
        if nxt is None:
            nxt = cur[k] = {}
        if not isinstance(nxt, dict):
            raise ConfigError(f"cannot set {dotted!r}: {k!r} is not a mapping")
        cur = nxt
    cur[keys[-1]] = value


def with_overrides(config: ExperimentConfig, overrides: Mapping[str, Any]) -> ExperimentConfig:
    """A copy of ``config`` with dotted-path overrides applied and re-validated."""
    raw = copy.deepcopy(config.model_dump(mode="json"))
    for k, v in overrides.items():
        set_dotted(raw, k, v)
    return validate_config(raw)


def dump_config(config: ExperimentConfig) -> str:
    """The YAML text of a validated config."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False)
