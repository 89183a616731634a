"""Configuration sections of ``experiment: codeepnet`` (seed 001): data and simulator, the pair, its training budget,
the genetic search, the baselines, and :class:`CoDeepNetConfig` that holds them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from coterie.cooperative.baselines import SKLEARN_BASELINES
from coterie.cooperative.chromosome import Chromosome
from coterie.cooperative.codeepnet import TRANSFER_MODES
from coterie.data.methylation import CohortParams
from coterie.experiments.registry import ExperimentConfig


def _only_known(values: list[str], allowed: Iterable[str], what: str) -> list[str]:
    """``values`` when each is in ``allowed``; else a one-line error naming the unknown ones and the allowed."""
    bad = [v for v in values if v not in allowed]
    if bad:
        raise ValueError(f"unknown {what}(s) {bad}; allowed: {list(allowed)}")
    return values


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", protected_namespaces=())


class SimulationConfig(_Strict):
    """Arguments of :func:`~coterie.data.methylation.simulate_methylation` (used when ``data_file`` is empty)."""

    n_samples: int = Field(default=600, ge=20)
    n_cpgs: int = Field(default=2000, ge=10)
    n_age_cpgs: int = Field(default=200, ge=0)
    cluster_size: int = Field(default=5, ge=1)
    slope_range: tuple[float, float] = (0.05, 0.3)
    neighbor_corr: float = Field(default=0.5, ge=0.0, lt=1.0)
    noise_sd: float = Field(default=0.3, ge=0.0)
    heteroscedasticity: float = Field(default=1.0, ge=0.0)
    n_batches: int = Field(default=1, ge=1)
    batch_sd: float = Field(default=0.2, ge=0.0)
    missing_rate: float = Field(default=0.0, ge=0.0, lt=1.0)
    version: Literal[1, 2] = 1
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _version(self) -> SimulationConfig:
        """v1 takes the fields above; v2 takes ``n_samples``/``n_cpgs``/``n_age_cpgs`` and ``params`` (any
        :class:`~coterie.data.methylation.CohortParams` field)."""
        # a v1-only field counts only when it differs from its default: a dumped config (config.yaml, --set)
        # carries every field with its default, and must validate again
        fields = type(self).model_fields
        v1_only = sorted(
            k
            for k in self.model_fields_set - {"n_samples", "n_cpgs", "n_age_cpgs", "version", "params"}
            if getattr(self, k) != fields[k].get_default(call_default_factory=True)
        )
        if self.version == 1 and self.params:
            raise ValueError("simulate.params is for version 2; version 1 takes its fields directly")
        if self.version == 2:
            if v1_only:
                raise ValueError(
                    f"simulate fields {v1_only} are v1-only; for version 2 put CohortParams fields in "
                    f"simulate.params (allowed: {list(CohortParams.__dataclass_fields__)})"
                )
            bad = sorted(set(self.params) - set(CohortParams.__dataclass_fields__))
            if bad:
                raise ValueError(f"unknown simulate.params {bad}; allowed: {list(CohortParams.__dataclass_fields__)}")
        return self


class MethylationDataConfig(_Strict):
    """Splits and train-only preprocessing; ``annotation_file`` (a GPL platform table) gives real CpGs their genomic
    positions and, by default (``cpg_order: genomic``), their order."""

    age_column: str = "age"
    annotation_file: str | None = None
    cpg_order: Literal["genomic", "original"] | None = None
    simulate: SimulationConfig = Field(default_factory=SimulationConfig)
    val_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    test_fraction: float = Field(default=0.2, gt=0.0, lt=1.0)
    n_selected: int | None = Field(default=200, ge=1)
    selection_method: Literal["pearson", "spearman"] = "pearson"
    selection_target: Literal["age", "horvath"] = "age"
    order: Literal["original", "correlation"] = "original"
    imputation: Literal["median", "mean"] = "median"
    max_missing_fraction: float = Field(default=0.2, ge=0.0, le=1.0)

    @model_validator(mode="after")
    def _fractions(self) -> MethylationDataConfig:
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must be < 1")
        return self


class PairModelConfig(_Strict):
    """The pair's fixed options; ``chromosome`` (``Chromosome.to_dict`` form) is used when the search is off."""

    chromosome: dict[str, Any] | None = None
    transfer: str = "features"
    prediction: Literal["mean", "last_active"] = "mean"
    dropout: float = Field(default=0.0, ge=0.0, lt=1.0)

    @field_validator("transfer")
    @classmethod
    def _transfer(cls, v: str) -> str:
        if v not in TRANSFER_MODES:
            raise ValueError(f"unknown transfer {v!r}; allowed: {list(TRANSFER_MODES)}")
        return v

    @field_validator("chromosome")
    @classmethod
    def _chromosome(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            Chromosome.from_dict(v)
        return v


class PairTrainConfig(_Strict):
    """Final-training budget (see :class:`coterie.cooperative.training.TrainConfig`)."""

    epochs: int = Field(default=60, ge=1)
    batch_size: int = Field(default=32, ge=1)
    weight_decay: float = Field(default=1e-4, ge=0.0)
    loss: Literal["l1", "mse", "huber"] = "l1"
    transmission_unit: Literal["iterations", "epochs"] = "iterations"
    distill_weight: float = Field(default=0.5, ge=0.0, le=1.0)
    patience: int | None = Field(default=20, ge=1)


class SpaceConfig(_Strict):
    """Search-space choices (see :class:`coterie.cooperative.chromosome.SearchSpace`)."""

    conv_depth: tuple[int, int] = (1, 3)
    channels: list[int] = Field(default_factory=lambda: [4, 8, 12, 16, 24, 32])
    kernels: list[int] = Field(default_factory=lambda: [3, 5, 7, 9])
    fc_depth: tuple[int, int] = (1, 2)
    fc_widths: list[int] = Field(default_factory=lambda: [8, 16, 32, 64])
    transmission_rates: list[int] = Field(default_factory=lambda: [1, 5, 10, 25, 50])
    lr_range: tuple[float, float] = (3e-4, 1e-2)


class SearchConfig(_Strict):
    """Genetic architecture search (fitness on the validation split only)."""

    enabled: bool = True
    population_size: int = Field(default=8, ge=2)
    generations: int = Field(default=4, ge=0)
    tournament_size: int = Field(default=3, ge=1)
    crossover_rate: float = Field(default=0.9, ge=0.0, le=1.0)
    mutation_rate: float = Field(default=0.3, ge=0.0, le=1.0)
    elitism: int = Field(default=1, ge=0)
    fitness_epochs: int = Field(default=10, ge=1)
    fitness_patience: int | None = Field(default=None, ge=1)
    fitness_seeds: int = Field(default=2, ge=1)  # fitness = validation MAE averaged over this many training seeds
    cost: Literal["none", "parameters", "flops"] = "none"  # optional cost term added to the fitness
    cost_weight: float = Field(default=0.0, ge=0.0)  # years of MAE per 1,000 parameters / per forward MFLOP
    workers: int = Field(default=1, ge=1)
    backend: Literal["local", "ray"] = "local"  # local: a process pool when workers > 1; ray: Ray tasks
    address: str | None = None  # Ray cluster address (backend ray); None starts a local instance
    space: SpaceConfig = Field(default_factory=SpaceConfig)


class BaselinesConfig(_Strict):
    """Which baselines run and how big they are."""

    sklearn: list[str] = Field(default_factory=lambda: list(SKLEARN_BASELINES))
    single_cnn: bool = True
    single_cnn_param_ratio: float = Field(default=1.5, gt=0.0)
    single_cnn_lr_multipliers: list[float] = Field(default_factory=lambda: [1.0])
    single_cnn_search: bool = False  # also search the single larger CNN with the pair's GA settings and budget
    gbr_estimators: int = Field(default=200, ge=1)
    clocks: list[Literal["horvath2013", "hannum2013"]] = Field(default_factory=lambda: ["horvath2013", "hannum2013"])
    clock_impute: Literal["none", "mean", "reference"] = "none"

    @field_validator("sklearn")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        return _only_known(v, SKLEARN_BASELINES, "baseline")


class CoDeepNetConfig(ExperimentConfig):
    """``experiment: codeepnet`` — see the module docstring. ``data_file`` empty → simulated cohort."""

    experiment: Literal["codeepnet"] = "codeepnet"
    data_file: str | None = None
    data: MethylationDataConfig = Field(default_factory=MethylationDataConfig)
    target_transform: Literal["none", "horvath"] = "horvath"
    model: PairModelConfig = Field(default_factory=PairModelConfig)
    train: PairTrainConfig = Field(default_factory=PairTrainConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    baselines: BaselinesConfig = Field(default_factory=BaselinesConfig)
    repeats: int = Field(default=1, ge=1)
    ablations: list[str] = Field(default_factory=list)
    independent_cnns: bool = False  # arm: the chromosome's two networks trained independently, outputs averaged

    @field_validator("ablations")
    @classmethod
    def _ablations(cls, v: list[str]) -> list[str]:
        return _only_known(v, TRANSFER_MODES, "transfer mode")
