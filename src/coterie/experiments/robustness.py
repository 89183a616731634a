"""``experiment: robustness`` — seed 002's protocol: diverse ensembles against black-box and white-box attacks.

For each repeat (seed), the recipe trains

* a *surrogate* ensemble (independent cross-entropy, its own initialisation and data order), owned by the
  zero-knowledge adversary A_Z, and
* one *target* ensemble per method (default: unprotected, ADP, GAL, DVERGE, PARL; all targets of a repeat start from
  the same initialisation), plus the PARL/K ablation (Table 2, Fig. 5) when ``parl_ablation`` lists K values,

then, on a fixed random subset of the test split (drawn once from the run seed), measures accuracy (majority vote)
under FGSM, BIM, MIM and PGD for every ε: black-box transfer from the surrogate (Fig. 3) and white-box on the
target itself (Fig. 4). ``results.json`` holds the Table 1 layout (clean accuracy on the test split and accuracy
under each attack at the largest ε), the accuracy-vs-ε curves, layer-wise linear CKA between members (Fig. 2) and
the PARL input-gradient similarity of every ensemble, all measured on held-out test data; with several repeats, the
mean and standard deviation over repeats. No choice is made on test data: training uses train/val only.

``input_scaling: minmax`` maps inputs affinely to [0, 1] with the *training split's* minimum and maximum (val/test
clipped), for datasets such as MNIST-1D that are not natively in [0, 1]; ε is then a fraction of the signal range.
A method may start from another method's trained weights (``init_from``, e.g. DVERGE from the unprotected ensemble,
as the official DVERGE code starts from pre-trained baselines) and may set its own number of epochs.

Artefacts (:mod:`coterie.experiments.artifacts.robustness`): ``repeat<r>/ensemble-<label>.safetensors`` per target
and ``repeat<r>/surrogate.safetensors``; ``coterie.load(run_dir, which)`` returns ``{label: Ensemble}`` (targets,
then ``surrogate``) in eval mode, for the first repeat (``which`` final or best: the same, final, weights) or for
``which="repeat<r>"``. The ensembles take inputs as scaled by ``input_scaling`` (``results.json`` ``data.scaling``).
"""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import Field, field_validator, model_validator

from coterie.attacks.evaluate import AttackSettings, transfer_accuracy, whitebox_accuracy
from coterie.config import DataConfig, ModelConfig, ObjectiveConfig, OptimizerConfig, ScheduleConfig, Strict
from coterie.data import Splits, TensorData
from coterie.data.augment import build_augment, validate_augment_spec
from coterie.ensemble import Ensemble
from coterie.ensemble.combine import combine
from coterie.experiments.artifacts import robustness as artifacts
from coterie.experiments.build import build_objective, build_splits, infer_model_kwargs, log_callbacks
from coterie.experiments.registry import ExperimentConfig, register
from coterie.experiments.rundir import RunDir
from coterie.metrics.cka import layerwise_cka
from coterie.objectives.independent import Independent
from coterie.objectives.parl import ensemble_members, hidden_layers, pairwise_similarity, resolve_layers
from coterie.training import Trainer
from coterie.training.trainer import predict_logits
from coterie.utils.device import resolve_device
from coterie.utils.progress import progress_bar
from coterie.utils.seed import seed_everything

log = logging.getLogger(__name__)

AttackName = Literal["fgsm", "bim", "mim", "pgd"]


class MethodConfig(Strict):
    """One target ensemble: a label (table row), its objective, optional epochs and a method to start from.
    ``augment``, when given, replaces ``data.augment`` for this method's training batches (GAL's official setting
    adds Gaussian noise to the crop + flip of the others)."""

    label: str
    objective: ObjectiveConfig = Field(default_factory=ObjectiveConfig)
    epochs: int | None = Field(default=None, ge=1)
    init_from: str | None = None
    augment: dict[str, Any] | None = None

    @field_validator("augment")
    @classmethod
    def _augment_keys(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        return validate_augment_spec(v) if v is not None else None

    def augment_spec(self, data: DataConfig) -> dict[str, Any] | None:
        """This method's training augmentation: its own ``augment`` if set, else ``data.augment``."""
        return self.augment if self.augment is not None else data.augment


def default_methods() -> list[MethodConfig]:
    """Seed 002 §5.1: ENS_U, ENS_ADP, ENS_GAL, ENS_DVERGE, ENS_PARL with their papers' defaults."""
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
    """Attacks and their settings (defaults: seed 002 §5.1)."""

    names: list[AttackName] = Field(default_factory=lambda: ["fgsm", "bim", "mim", "pgd"])
    eps: list[float] = Field(default_factory=lambda: [0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.07])
    whitebox: bool = True
    whitebox_eps: list[float] | None = None
    steps: int = Field(default=50, ge=1)
    step_size: float | None = Field(default=None, gt=0)
    decay: float = Field(default=0.01, ge=0)
    restarts: int = Field(default=10, ge=1)
    head: Literal["mean_prob", "mean_logit", "mean_ce"] = "mean_prob"
    loss: Literal["ce", "cw"] = "ce"
    rule: Literal["vote", "mean", "geometric", "logit_mean"] = "vote"
    n_eval: int = Field(default=1000, ge=1)
    batch_size: int = Field(default=500, ge=1)

    @model_validator(mode="after")
    def _eps_range(self) -> AttackConfig:
        for e in [*self.eps, *(self.whitebox_eps or [])]:
            if not 0.0 <= e <= 1.0:
                raise ValueError(f"every ε must lie in [0, 1] (inputs live in [0, 1]), got {e}")
        if not self.eps:
            raise ValueError("eps must list at least one attack strength")
        return self

    def settings(self) -> AttackSettings:
        return AttackSettings(
            steps=self.steps,
            step_size=self.step_size,
            decay=self.decay,
            restarts=self.restarts,
            head=self.head,
            loss=self.loss,
            rule=self.rule,
            batch_size=self.batch_size,
        )


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


# ----------------------------------------------------------------------------------------------------------- pieces
def scale_splits(splits: Splits, mode: str) -> tuple[Splits, dict[str, float]]:
    """Affine map to [0, 1] with the training split's min/max (``minmax``); val/test are clipped. ``none``: as is."""
    if mode == "none":
        return splits, {}
    lo, hi = float(splits.train.x.min()), float(splits.train.x.max())

    def f(d: TensorData) -> TensorData:
        return TensorData(((d.x - lo) / (hi - lo)).clamp(0.0, 1.0), d.y, d.num_classes, d.name)

    return Splits(f(splits.train), f(splits.val), f(splits.test)), {"min": lo, "max": hi}


def all_methods(cfg: RobustnessConfig) -> list[MethodConfig]:
    """The configured methods plus one ``PARL/K`` copy of the PARL method per ablation K."""
    methods = list(cfg.methods)
    parl = next((m for m in methods if m.label == cfg.parl_label), None)
    for k in cfg.parl_ablation:
        assert parl is not None
        obj = ObjectiveConfig(name=parl.objective.name, params={**parl.objective.params, "layers": k})
        methods.append(MethodConfig(label=f"{cfg.parl_label}/{k}", objective=obj, epochs=parl.epochs,
                                    augment=parl.augment))
    return methods


def _make_ensemble(cfg: RobustnessConfig, splits: Splits, seed: int) -> Ensemble:
    """Members of the configured model. After ``minmax`` scaling, each member's internal input normalisation is set
    to the training split's mean and standard deviation (the model still takes [0, 1] inputs)."""
    kwargs = infer_model_kwargs(cfg.model.name, splits.input_shape, splits.num_classes, cfg.model.kwargs)
    ens = Ensemble.from_factory(cfg.model.name, cfg.members, seed=seed, executor="loop", **kwargs)
    if cfg.input_scaling == "minmax":
        mean, std = float(splits.train.x.mean()), float(splits.train.x.std())
        for m in ens.members:
            if isinstance(getattr(m, "input_mean", None), torch.Tensor):
                m.input_mean.fill_(mean)
                m.input_std.fill_(std)
    return ens


def validate_objectives(cfg: RobustnessConfig, splits: Splits) -> None:
    """Build every objective and resolve its layers on a member before any training (bad K or names fail here)."""
    probe = _make_ensemble(cfg, splits, 0)
    for m in all_methods(cfg):
        try:
            build_augment(m.augment_spec(cfg.data), splits.input_shape)
        except ValueError as e:
            raise ValueError(f"method {m.label!r}: {e}") from None
        obj = build_objective(m.objective)
        bind = getattr(obj, "bind", None)
        if bind is not None:
            try:
                bind(probe)
            except (ValueError, KeyError) as e:
                raise ValueError(f"method {m.label!r}: {e}") from None


def _train(
    cfg: RobustnessConfig,
    splits: Splits,
    objective: Any,
    init_seed: int,
    data_seed: int,
    epochs: int,
    run_dir: Path,
    init_state: dict[str, torch.Tensor] | None = None,
    augment: dict[str, Any] | None = None,
) -> tuple[Ensemble, list[dict[str, Any]]]:
    ens = _make_ensemble(cfg, splits, init_seed)
    if init_state is not None:
        ens.load_state_dict(init_state)
    bind = getattr(objective, "bind", None)
    if bind is not None:
        bind(ens)
    trainer = Trainer(
        ens,
        objective,
        optimizer=cfg.optimizer.name,
        lr=cfg.optimizer.lr,
        momentum=cfg.optimizer.momentum,
        weight_decay=cfg.optimizer.weight_decay,
        nesterov=cfg.optimizer.nesterov,
        schedule=cfg.schedule.name,
        step_size=cfg.schedule.step_size,
        gamma=cfg.schedule.gamma,
        milestones=tuple(cfg.schedule.milestones),
        warmup_epochs=cfg.schedule.warmup_epochs,
        epochs=epochs,
        batch_size=cfg.batch_size,
        seed=data_seed,
        device=cfg.device,
        run_dir=run_dir,
        max_steps_per_epoch=cfg.max_steps_per_epoch,
        progress=False,
        callbacks=log_callbacks(cfg, run_dir),
        augment=build_augment(augment, splits.input_shape),
    )
    history = trainer.fit(splits.train, splits.val)
    ens.eval()
    return ens, history


def vote_accuracy(ens: Ensemble, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Clean accuracy of the ensemble (vote and mean rules) and of each member."""
    logits = predict_logits(ens, x)
    y = y.to(logits.device)

    return {
        "vote": float((combine(logits, "vote").argmax(-1) == y).float().mean()),
        "mean": float((combine(logits, "mean").argmax(-1) == y).float().mean()),
        "members": [float(v) for v in (logits.argmax(-1) == y).float().mean(1)],
    }


# ------------------------------------------------------------------------------------------------------------ run
def run_repeat(cfg: RobustnessConfig, splits: Splits, rundir: RunDir, repeat: int) -> dict[str, Any]:
    """Train the surrogate and every target of one repeat and evaluate them; returns the per-repeat results."""
    seed = cfg.seed + repeat
    device = resolve_device(cfg.device)
    rdir = rundir.path / f"repeat{repeat}"
    methods = all_methods(cfg)
    default_epochs = cfg.epochs

    g_eval = torch.Generator().manual_seed(cfg.seed)
    n_test = len(splits.test)
    idx = torch.randperm(n_test, generator=g_eval)[: min(cfg.attack.n_eval, n_test)]
    x_eval, y_eval = splits.test.x[idx].to(device), splits.test.y[idx].to(device)

    log.info("repeat %d: training the surrogate", repeat)
    surrogate, _ = _train(
        cfg,
        splits,
        Independent(),
        init_seed=seed * 1000 + 500 * cfg.surrogate_seed_offset,
        data_seed=seed + 7919 * cfg.surrogate_seed_offset,
        epochs=default_epochs,
        run_dir=rdir / "surrogate",
        augment=cfg.data.augment,
    )
    targets: dict[str, Ensemble] = {}
    out: dict[str, Any] = {"seed": seed, "train": {}, "clean": {}}
    for m in methods:
        log.info("repeat %d: training %s (%s %s)", repeat, m.label, m.objective.name, m.objective.params)
        init_state = copy.deepcopy(targets[m.init_from].state_dict()) if m.init_from else None
        ens, hist = _train(
            cfg,
            splits,
            build_objective(m.objective),
            init_seed=seed * 1000,
            data_seed=seed,
            epochs=m.epochs or default_epochs,
            run_dir=rdir / m.label.replace("/", "_"),
            init_state=init_state,
            augment=m.augment_spec(cfg.data),
        )
        targets[m.label] = ens
        out["train"][m.label] = {
            "epochs": len(hist),
            "seconds": sum(r["train_seconds"] for r in hist),
            "val_ens_acc_vote": hist[-1].get("val_ens_acc_vote") if hist else None,
        }
    kw = infer_model_kwargs(cfg.model.name, splits.input_shape, splits.num_classes, cfg.model.kwargs)
    artifacts.save_repeat(rundir, repeat, cfg.model.name, kw, targets, surrogate)
    out["clean"] = {k: vote_accuracy(e, splits.test.x, splits.test.y) for k, e in targets.items()}
    out["clean"]["surrogate"] = vote_accuracy(surrogate, splits.test.x, splits.test.y)
    out["clean_eval_subset"] = {k: vote_accuracy(e, x_eval, y_eval)["vote"] for k, e in targets.items()}

    settings = cfg.attack.settings()
    eps_list = list(cfg.attack.eps)
    wb_eps = list(cfg.attack.whitebox_eps or eps_list)
    bb: dict[str, dict[str, list[float]]] = {a: {k: [] for k in targets} for a in cfg.attack.names}
    wb: dict[str, dict[str, list[float]]] = {a: {k: [] for k in targets} for a in cfg.attack.names}
    jobs = len(cfg.attack.names) * (len(eps_list) + (len(wb_eps) * len(targets) if cfg.attack.whitebox else 0))
    with progress_bar() as bar:
        task = bar.add_task(f"repeat {repeat}: attacks", total=jobs)
        for a in cfg.attack.names:
            for e in eps_list:
                gen = torch.Generator().manual_seed(seed * 7 + round(e * 1000))
                accs = transfer_accuracy(targets, surrogate, x_eval, y_eval, a, e, settings, gen)
                for k, v in accs.items():
                    bb[a][k].append(v)
                bar.update(task, advance=1)
                log.info("black-box %s eps=%.3f %s", a, e, {k: round(v, 3) for k, v in accs.items()})
            if cfg.attack.whitebox:
                for k, ens in targets.items():
                    for e in wb_eps:
                        gen = torch.Generator().manual_seed(seed * 7 + round(e * 1000))
                        wb[a][k].append(whitebox_accuracy(ens, x_eval, y_eval, a, e, settings, gen))
                        bar.update(task, advance=1)
                log.info("white-box %s %s", a, {k: [round(v, 3) for v in wb[a][k]] for k in targets})
    out["blackbox"] = bb
    if cfg.attack.whitebox:
        out["whitebox"] = wb

    parl_method = next((m for m in cfg.methods if m.label == cfg.parl_label), None)
    first = ensemble_members(next(iter(targets.values())))[0]
    sim_layers = resolve_layers(first, parl_method.objective.params.get("layers", 7)) if parl_method else []
    if sim_layers:
        out["grad_similarity_layers"] = sim_layers
        out["grad_similarity"] = {}
        for k, ens in targets.items():
            s = torch.zeros(cfg.members, cfg.members)
            for start in range(0, x_eval.shape[0], 250):
                xb = x_eval[start : start + 250]
                s += pairwise_similarity(ens, xb, sim_layers) * xb.shape[0]
            s /= x_eval.shape[0]
            off = ~torch.eye(cfg.members, dtype=torch.bool)
            out["grad_similarity"][k] = {
                "matrix": s.tolist(),
                "mean_offdiag": float(s[off].mean()) if cfg.members > 1 else None,
            }
    if cfg.cka and cfg.members > 1:
        layers = list(first.feature_layers("weighted")) if hasattr(first, "feature_layers") else hidden_layers(first)
        out["cka_layers"] = layers
        out["cka"] = {}
        for k, ens in targets.items():
            mat = layerwise_cka(ens, x_eval, layers)
            iu = torch.triu_indices(cfg.members, cfg.members, 1)
            pairs = mat[:, iu[0], iu[1]]  # (L, P)
            out["cka"][k] = {"per_layer_pairs": pairs.tolist(), "mean": float(pairs.mean())}
    return out


def _mean_std(values: list[Any]) -> Any:
    """Element-wise mean and std over repeats of equally shaped nested lists/dicts of floats."""
    first = values[0]
    if isinstance(first, dict):
        return {k: _mean_std([v[k] for v in values]) for k in first}
    arr = np.asarray(values, dtype=float)
    return {"mean": arr.mean(0).tolist(), "std": arr.std(0).tolist()}


def summarise(cfg: RobustnessConfig, repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """Table 1 layout, curves and diversity figures (mean ± std over repeats) from the per-repeat results."""
    eps_max = max(cfg.attack.eps)
    i_max = cfg.attack.eps.index(eps_max)
    labels = list(repeats[0]["clean"].keys())
    labels.remove("surrogate")
    modes = ["blackbox"] + (["whitebox"] if cfg.attack.whitebox else [])
    tables: dict[str, Any] = {}
    for mode in modes:
        eps_m = cfg.attack.eps if mode == "blackbox" else (cfg.attack.whitebox_eps or cfg.attack.eps)
        j = eps_m.index(max(eps_m))
        tables[mode] = {
            "eps": max(eps_m),
            "rows": {
                k: {
                    "clean": _mean_std([r["clean"][k]["vote"] for r in repeats]),
                    **{a: _mean_std([r[mode][a][k][j] for r in repeats]) for a in cfg.attack.names},
                }
                for k in labels
            },
        }
    curves = {
        mode: {a: {k: _mean_std([r[mode][a][k] for r in repeats]) for k in labels} for a in cfg.attack.names}
        for mode in modes
    }
    res: dict[str, Any] = {
        "experiment": "robustness",
        "eps": cfg.attack.eps,
        "whitebox_eps": cfg.attack.whitebox_eps or cfg.attack.eps,
        "eps_max": eps_max,
        "eps_max_index": i_max,
        "methods": labels,
        "table1": tables,
        "curves": curves,
        "clean": {k: _mean_std([r["clean"][k]["vote"] for r in repeats]) for k in [*labels, "surrogate"]},
        "clean_eval_subset": {k: _mean_std([r["clean_eval_subset"][k] for r in repeats]) for k in labels},
        "clean_members": {k: [r["clean"][k]["members"] for r in repeats] for k in [*labels, "surrogate"]},
        "train_seconds": {k: _mean_std([r["train"][k]["seconds"] for r in repeats]) for k in labels},
    }
    if "grad_similarity" in repeats[0]:
        res["grad_similarity_layers"] = repeats[0]["grad_similarity_layers"]
        res["grad_similarity"] = {
            k: _mean_std([r["grad_similarity"][k]["mean_offdiag"] for r in repeats]) for k in labels
        }
    if "cka" in repeats[0]:
        res["cka_layers"] = repeats[0]["cka_layers"]
        res["cka_mean"] = {k: _mean_std([r["cka"][k]["mean"] for r in repeats]) for k in labels}
        res["cka_per_layer_pairs"] = {k: _mean_std([r["cka"][k]["per_layer_pairs"] for r in repeats]) for k in labels}
    res["repeats"] = repeats
    return res


# ---------------------------------------------------------------------------------------------------------- plots
def plot_curves(res: dict[str, Any], mode: str, labels: list[str], title: str) -> Any:
    """Accuracy vs ε, one panel per attack (seed 002 Figs 3–5)."""
    from coterie.utils.figures import subplots

    attacks = list(res["curves"][mode])
    eps = res["eps"] if mode == "blackbox" else res["whitebox_eps"]
    fig, axes = subplots(1, len(attacks), figsize=(3.6 * len(attacks), 3.2), squeeze=False)
    for ax, a in zip(axes[0], attacks):
        for k in labels:
            c = res["curves"][mode][a][k]
            m, s = np.asarray(c["mean"]) * 100, np.asarray(c["std"]) * 100
            ax.plot(eps, m, marker="o", ms=3, label=k)
            if s.any():
                ax.fill_between(eps, m - s, m + s, alpha=0.15)
        ax.set_title(a.upper())
        ax.set_xlabel("ε")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("ensemble accuracy (%)")
    axes[0][-1].legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_cka(res: dict[str, Any], labels: list[str]) -> Any:
    """Layer-wise linear CKA of each member pair (seed 002 Fig. 2); the legend gives the overall mean."""
    from coterie.utils.figures import subplots

    layers = res["cka_layers"]
    fig, axes = subplots(1, len(labels), figsize=(4.2 * len(labels), 3.2), squeeze=False, sharey=True)
    for ax, k in zip(axes[0], labels):
        pairs = np.asarray(res["cka_per_layer_pairs"][k]["mean"])  # (L, P)
        n = round((1 + math.sqrt(1 + 8 * pairs.shape[1])) / 2)
        names = [f"M{i + 1}–M{j + 1}" for i in range(n) for j in range(i + 1, n)]
        for p in range(pairs.shape[1]):
            ax.plot(range(len(layers)), pairs[:, p], marker="o", ms=3, label=f"{names[p]} ({pairs[:, p].mean():.3f})")
        ax.set_xticks(range(len(layers)))
        ax.set_xticklabels(layers, rotation=60, fontsize=7)
        ax.set_title(f"{k} (mean {res['cka_mean'][k]['mean']:.3f})", fontsize=9)
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("linear CKA")
    fig.tight_layout()
    return fig


@register(
    "robustness",
    RobustnessConfig,
    "seed 002: PARL/ADP/GAL/DVERGE ensembles under black- and white-box attacks; load: {method: Ensemble}",
    load=artifacts.load,
)
def run(cfg: RobustnessConfig, rundir: RunDir) -> dict[str, Any]:
    """Train surrogate and targets, attack them, write Table 1, curves, CKA and figures."""
    seed_everything(cfg.seed)
    split_seed = cfg.seed if cfg.data.split_seed is None else cfg.data.split_seed
    splits = build_splits(cfg.data, split_seed)
    splits, scaling = scale_splits(splits, cfg.input_scaling)
    validate_objectives(cfg, splits)
    repeats = []
    for r in range(cfg.first_repeat, cfg.first_repeat + cfg.repeats):
        rep = run_repeat(cfg, splits, rundir, r)
        rundir.log_metrics({"repeat": r, "summary_clean": {k: v["vote"] for k, v in rep["clean"].items()}})
        repeats.append(rep)
    res = summarise(cfg, repeats)
    res["data"] = {
        "name": cfg.data.name,
        "train": len(splits.train),
        "val": len(splits.val),
        "test": len(splits.test),
        "eval_subset": min(cfg.attack.n_eval, len(splits.test)),
        "scaling": scaling,
    }
    main = [m.label for m in cfg.methods]
    eps_note = f"surrogate: {cfg.members} members, independent; {cfg.repeats} repeat(s)"
    rundir.save_figure(plot_curves(res, "blackbox", main, f"black-box transfer ({eps_note})"), "blackbox.png")
    if cfg.attack.whitebox:
        rundir.save_figure(plot_curves(res, "whitebox", main, "white-box"), "whitebox.png")
    if cfg.parl_ablation:
        k_main = next(m for m in cfg.methods if m.label == cfg.parl_label).objective.params.get("layers", 7)
        abl = [cfg.baseline_label, cfg.parl_label] + [f"{cfg.parl_label}/{k}" for k in cfg.parl_ablation]
        abl = [k for k in abl if k in res["methods"]]
        rundir.save_figure(
            plot_curves(res, "blackbox", abl, f"PARL ablation (black-box; {cfg.parl_label} = PARL/{k_main})"),
            "parl_ablation.png",
        )
    if "cka_mean" in res:
        shown = [k for k in (cfg.baseline_label, cfg.parl_label) if k in res["methods"]] or res["methods"][:2]
        rundir.save_figure(plot_cka(res, shown), "cka.png")
    return res
