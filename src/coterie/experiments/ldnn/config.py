"""Configuration of ``experiment: ldnn`` (seed 004): its sections and their validation."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from coterie.experiments.registry import ExperimentConfig
from coterie.neurons import MetaConfig
from coterie.neurons.smoothness import PIECEWISE_LINEAR


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetaSettings(_Section):
    """Algorithm 1 settings (see :class:`coterie.neurons.MetaConfig`).

    ``outer_steps`` is the most outer steps; they stop earlier once the meta-network's validation loss has not
    improved by ``min_delta`` for ``patience`` steps (``patience: null``: run them all). ``inner_lr: null`` uses the
    arms' rate (``eval.lr``), so with the default ``inner_optimizer: adam`` the inner loop trains as the arms do.
    ``reinit_inner`` re-initialises θ every outer step (Algorithm 1); ``false`` carries it over.
    """

    method: Literal["exact", "first_order"] = "exact"
    outer_steps: int = Field(100, ge=1)
    inner_steps: int = Field(20, ge=1)
    inner_lr: float | None = None
    inner_optimizer: Literal["adam", "sgd"] = "adam"
    outer_lr: float = 3e-3
    outer_optimizer: Literal["adam", "sgd"] = "adam"
    truncation: int | None = None
    reinit_inner: bool = True
    batch_size: int = 128
    clip_meta_grad: float | None = 1.0
    patience: int | None = Field(10, ge=1)
    min_delta: float = Field(0.0, ge=0.0)
    snapshots: int = 10


class EvalSettings(_Section):
    """The common training of every arm: Adam for ``steps`` minibatch steps (rounded up to whole epochs of the
    training split), over ``seeds`` initialisations, each seed with its own data order (``per_member``).

    ``schedule``: the learning rate over the run, constant or cosine decay to 0 (the study v2 uses cosine so that
    the final weights sit at a plateau rather than at a point of the constant-rate noise).

    ``baselines``: fixed activations to compare with (default: relu, tanh, sin; tanh, sin when a Hamiltonian
    network is among the models, which cannot train through ReLU)."""

    seeds: int = 20
    steps: int = 2000
    lr: float = 1e-2
    schedule: Literal["constant", "cosine"] = "constant"
    batch_size: int = 100
    baselines: list[str] | None = None


class AnalysisSettings(_Section):
    """Participation ratio on every run; Hessian statistics on the first ``hessian_seeds`` seeds."""

    hessian_seeds: int = 3
    hessian_probes: int = 30
    slq_iterations: int = 40
    slq_runs: int = 1
    hessian_samples: int = 500
    near_zero_tol: float = 1e-3
    rollout_steps: int = 400
    rollout_dt: float = 0.05


class DataSettings(_Section):
    """Sizes of the data; ``val_fraction`` / ``test_fraction`` of samples (MNIST-1D) or of trajectories (physics)."""

    num_samples: int = 5000
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    trajectories: int = 30
    t_end: float = 20.0
    dt: float = 0.1
    energies: list[float] = Field(default_factory=lambda: [0.04, 0.08, 0.12, 0.16])
    trajectories_per_energy: int = 8


class ActivationsFrom(_Section):
    """Where reused activations come from: the run directory of an earlier ``ldnn`` run (as ``coterie run`` wrote
    it; a relative path is taken from the working directory) and the model kind whose exported tables to take."""

    run: str
    model: Literal["nn", "hnn"] = "nn"


class LdnnConfig(ExperimentConfig):
    """Configuration of ``ldnn`` (seed 004).

    ``export_kind``: how learned activations are frozen — ``linear`` (the paper), ``cubic``, or ``auto`` (default:
    linear for the conventional network, cubic for the Hamiltonian network, which trains through σ'' and gets no
    hidden-bias gradient from a piecewise-linear σ; :mod:`coterie.neurons.smoothness`).

    ``activations_from``: skip meta-learning and train the arms with the activation tables of an earlier ldnn run
    (:mod:`coterie.experiments.ldnn.reuse`); fingerprinted like every numeric field (the source names the numbers).
    """

    experiment: Literal["ldnn"] = "ldnn"
    task: Literal["mnist1d", "vanderpol", "henonheiles"] = "mnist1d"
    models: list[Literal["nn", "hnn"]] = Field(default_factory=lambda: ["nn"])
    hidden: list[int] = Field(default_factory=lambda: [100])
    num_types: int = 2
    base: Literal["sin", "tanh", "relu", "elu", "zero"] = "sin"
    sub_hidden: int = 50
    scale: float = 1.0
    export_points: int = 100
    export_range: float = 10.0
    export_kind: Literal["auto", "linear", "cubic"] = "auto"
    meta: MetaSettings = Field(default_factory=MetaSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    data: DataSettings = Field(default_factory=DataSettings)
    activations_from: ActivationsFrom | None = None

    @model_validator(mode="after")
    def _hamiltonian_needs_smooth_activations(self) -> LdnnConfig:
        if self.eval.baselines is None:
            smooth_only = "hnn" in self.models
            self.eval.baselines = ["tanh", "sin"] if smooth_only else ["relu", "tanh", "sin"]
        if "hnn" not in self.models:
            return self
        if self.task != "henonheiles":
            raise ValueError("the Hamiltonian network needs a Hamiltonian system: use task henonheiles")
        if self.export_kind == "linear":
            raise ValueError(
                "export_kind 'linear' with models [hnn]: the Hamiltonian network trains through σ'' and a "
                "piecewise-linear export leaves its hidden biases without gradient; use 'cubic' or 'auto'"
            )
        bad = sorted(set(self.eval.baselines) & PIECEWISE_LINEAR)
        if bad:
            raise ValueError(
                f"eval.baselines {bad} with models [hnn]: piecewise-linear activations leave a Hamiltonian network's "
                "hidden biases without gradient; use smooth baselines (sin, tanh, elu)"
            )
        return self


def export_kind(cfg: LdnnConfig, kind: str) -> Literal["linear", "cubic"]:
    """The interpolation of exported activations for model ``kind`` (``nn`` or ``hnn``)."""
    if cfg.export_kind != "auto":
        return cfg.export_kind
    return "cubic" if kind == "hnn" else "linear"


def meta_config(cfg: LdnnConfig) -> MetaConfig:
    """The :class:`~coterie.neurons.MetaConfig` of ``cfg.meta`` (``inner_lr: null`` → the arms' ``eval.lr``)."""
    m = cfg.meta
    return MetaConfig(
        method=m.method,
        outer_steps=m.outer_steps,
        inner_steps=m.inner_steps,
        inner_lr=cfg.eval.lr if m.inner_lr is None else m.inner_lr,
        inner_optimizer=m.inner_optimizer,
        outer_lr=m.outer_lr,
        outer_optimizer=m.outer_optimizer,
        truncation=m.truncation,
        reinit_inner=m.reinit_inner,
        batch_size=m.batch_size,
        clip_meta_grad=m.clip_meta_grad,
        patience=m.patience,
        min_delta=m.min_delta,
    )
