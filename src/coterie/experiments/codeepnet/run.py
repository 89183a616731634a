"""``experiment: codeepnet`` — Co-DeepNet age prediction from DNA methylation (seed 001) against its baselines.

Protocol (one run):

1. **Data**: the simulator (``data.simulate.version`` 1: :func:`coterie.data.methylation.simulate_methylation`, the
   v1 study's cohort; 2: :func:`coterie.data.methylation.simulate_methylation_v2`) or a real file given by the
   top-level ``data_file`` field (GEO series matrix, CSV / TSV / parquet; ``coterie run … --data-file PATH`` sets it),
   CpGs in genomic order when ``data.annotation_file`` names the platform's GPL table.
   Samples without an age are removed and counted in the results (never silently).
2. **Splits**: age-stratified train / validation / test, seeded by ``seed``.
3. **Preprocessing** fitted on train only: CpG missing-value filter and median imputation, selection of the
   ``n_selected`` CpGs most correlated with age, per-CpG input normalisation, target standardisation (optionally
   through Horvath's F(age), ``target_transform``).
4. **Genetic architecture search** (``search.enabled``): fitness = validation MAE after ``search.fitness_epochs``
   epochs; evaluations in parallel over ``search.workers`` processes; the hand-designed default chromosome is in the
   first population. Otherwise ``model.chromosome`` (or the default) is used.
5. **Final training**: the pair from the chosen chromosome, ``repeats`` times with different initialisations; the
   single larger CNN (≥ ``baselines.single_cnn_param_ratio`` × the pair's parameters, learning rate chosen on
   validation from ``baselines.single_cnn_lr_multipliers`` × the pair's); optional ablation pairs with other
   knowledge-transfer modes (``ablations``); SVR, gradient boosting and elastic net (a 3 × 3 hyper-parameter grid
   each, chosen on validation); the published Horvath and Hannum clocks (``baselines.clocks``) wherever the data
   carry their Illumina CpG IDs.
6. **Test** figures (MAE, RMSE, R², median AE, years) for every model, computed once at the end, with parameter
   counts, forward FLOPs per sample, estimated training FLOPs (2 pair forwards per sample-step for the pair,
   3 forwards for the single CNN, × samples × epochs run) and measured training time; ``claims`` compares them
   with seed 001's statements.

Writes ``metrics.jsonl`` (GA generations, per-epoch curves), ``checkpoints/codeepnet.safetensors`` (first repeat),
``ga_history.png``, ``test_predictions.png``, ``validation_curves.png`` and ``results.json``, and the artefacts of
:mod:`coterie.experiments.artifacts.codeepnet` (first repeat): ``pair.safetensors`` (the pair of the chosen — searched
— chromosome), ``pair-<transfer>.safetensors`` (ablations), ``single_cnn.safetensors``. ``coterie.load(run_dir)``
returns ``{"pair": CoDeepNet, "ablations": {transfer: CoDeepNet}, "single_cnn": SingleCNN | None, "chromosome",
"scaler": TargetScaler, "cpgs", "fill_values"}`` in eval mode (``which``: final or best, the same weights).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from coterie.cooperative.baselines import (
    SKLEARN_BASELINES,
    count_parameters,
    fit_sklearn_baseline,
    larger_single_cnn,
    regression_metrics,
)
from coterie.cooperative.chromosome import Chromosome, SearchSpace, default_chromosome
from coterie.cooperative.codeepnet import TRANSFER_MODES, CoDeepNet
from coterie.cooperative.genetic import FitnessTask, GAConfig, GeneticSearch, ProcessPoolEvaluator, RayEvaluator
from coterie.cooperative.training import TargetScaler, TrainConfig, fit_pair, fit_single, forward_flops, predict
from coterie.data.methylation import CohortParams, MethylationPreprocessor, split_samples
from coterie.experiments.artifacts import codeepnet as artifacts
from coterie.experiments.codeepnet_data import clock_models, load_cohort
from coterie.experiments.registry import ExperimentConfig, register
from coterie.experiments.rundir import RunDir, atomic_write_bytes
from coterie.utils.device import resolve_device
from coterie.utils.progress import progress_bar
from coterie.utils.seed import seed_everything

log = logging.getLogger(__name__)


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
        v1_only = sorted(self.model_fields_set - {"n_samples", "n_cpgs", "n_age_cpgs", "version", "params"})
        if self.version == 1 and self.params:
            raise ValueError("simulate.params is for version 2; version 1 takes its fields directly")
        if self.version == 2:
            if v1_only:
                raise ValueError(f"simulate fields {v1_only} are v1-only; for version 2 put CohortParams fields in "
                                 f"simulate.params (allowed: {list(CohortParams.__dataclass_fields__)})")
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
    gbr_estimators: int = Field(default=200, ge=1)
    clocks: list[Literal["horvath2013", "hannum2013"]] = Field(default_factory=lambda: ["horvath2013", "hannum2013"])
    clock_impute: Literal["none", "mean", "reference"] = "none"

    @field_validator("sklearn")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        bad = [b for b in v if b not in SKLEARN_BASELINES]
        if bad:
            raise ValueError(f"unknown baseline(s) {bad}; allowed: {list(SKLEARN_BASELINES)}")
        return v


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

    @field_validator("ablations")
    @classmethod
    def _ablations(cls, v: list[str]) -> list[str]:
        bad = [m for m in v if m not in TRANSFER_MODES]
        if bad:
            raise ValueError(f"unknown transfer mode(s) {bad}; allowed: {list(TRANSFER_MODES)}")
        return v


# --------------------------------------------------------------------------------------------------------------------


def _summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean of each metric over repeats, plus the spread of MAE."""
    keys = ["mae", "rmse", "r2", "median_ae", "val_mae", "train_seconds"]
    out: dict[str, Any] = {k: float(np.mean([r[k] for r in runs])) for k in keys}
    out["mae_std"] = float(np.std([r["mae"] for r in runs], ddof=1)) if len(runs) > 1 else 0.0
    out["runs"] = runs
    return out


@register(
    "codeepnet",
    CoDeepNetConfig,
    "Co-DeepNet pair vs single CNN, SVR, gradient boosting, elastic net (age); "
    "load: {pair, ablations, single_cnn, chromosome, scaler, cpgs, fill_values}",
    load=artifacts.load,
)
def run(cfg: CoDeepNetConfig, rundir: RunDir) -> dict[str, Any]:
    """Run the Co-DeepNet age-prediction study described in the module docstring."""
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    t_start = time.perf_counter()

    # 1-3: data, splits, train-only preprocessing
    data, dropped = load_cohort(cfg)
    tr, va, te = split_samples(data.ages.to_numpy(), cfg.data.val_fraction, cfg.data.test_fraction, seed=cfg.seed)
    pre = MethylationPreprocessor(
        n_cpgs=cfg.data.n_selected, method=cfg.data.selection_method, target=cfg.data.selection_target,
        imputation=cfg.data.imputation, max_missing_fraction=cfg.data.max_missing_fraction, order=cfg.data.order,
    ).fit(data.betas.iloc[tr], data.ages.iloc[tr])
    x_tr, x_va, x_te = (pre.transform(data.betas.iloc[i]) for i in (tr, va, te))
    a_tr, a_va, a_te = (data.ages.to_numpy()[i] for i in (tr, va, te))
    scaler = TargetScaler(cfg.target_transform).fit(a_tr)
    y_tr = scaler.encode(a_tr)
    mean, std = x_tr.mean(0), x_tr.std(0) + 1e-4
    L = x_tr.shape[1]
    data_info: dict[str, Any] = {
        "source": data.info.get("source"), "n_samples": data.n_samples, "n_cpgs": data.n_cpgs, "n_selected": L,
        "n_train": len(tr), "n_val": len(va), "n_test": len(te), "dropped_without_age": len(dropped),
        "cpgs_dropped_missing": len(pre.dropped_missing_),
        "age_range": [float(data.ages.min()), float(data.ages.max())],
    }
    if "age_cpgs" in data.info:
        truth = set(data.info["age_cpgs"])
        data_info["selected_truly_age_associated"] = int(sum(c in truth for c in pre.selected_))
        data_info["n_age_cpgs"] = len(truth)
    log.info("data: %s", data_info)

    train_cfg = TrainConfig(
        epochs=cfg.train.epochs, batch_size=cfg.train.batch_size, weight_decay=cfg.train.weight_decay,
        loss=cfg.train.loss, transmission_unit=cfg.train.transmission_unit, distill_weight=cfg.train.distill_weight,
        patience=cfg.train.patience,
    )

    # 4: genetic architecture search (validation MAE)
    search_out: dict[str, Any] = {"enabled": cfg.search.enabled}
    initial = Chromosome.from_dict(cfg.model.chromosome) if cfg.model.chromosome else default_chromosome()
    chromosome = initial
    if cfg.search.enabled:
        sp = cfg.search.space
        space = SearchSpace(input_length=L, conv_depth=sp.conv_depth, channels=tuple(sp.channels),
                            kernels=tuple(sp.kernels), fc_depth=sp.fc_depth, fc_widths=tuple(sp.fc_widths),
                            transmission_rates=tuple(sp.transmission_rates), lr_range=sp.lr_range)
        fit_budget = TrainConfig(
            epochs=cfg.search.fitness_epochs, batch_size=cfg.train.batch_size, weight_decay=cfg.train.weight_decay,
            loss=cfg.train.loss, transmission_unit=cfg.train.transmission_unit,
            distill_weight=cfg.train.distill_weight, patience=cfg.search.fitness_patience,
        )
        parallel = cfg.search.workers > 1 or cfg.search.backend == "ray"
        task = FitnessTask(x_tr, y_tr, x_va, a_va, scaler, mean, std, fit_budget, cfg.model.transfer,
                           cfg.model.prediction, cfg.model.dropout, seed=cfg.seed,
                           torch_threads=1 if parallel else torch.get_num_threads(),
                           device=str(device))
        ga_cfg = GAConfig(cfg.search.population_size, cfg.search.generations, cfg.search.tournament_size,
                          cfg.search.crossover_rate, cfg.search.mutation_rate, cfg.search.elitism, cfg.seed)

        def on_gen(rec: Any) -> None:
            rundir.log_metrics({"phase": "search", **rec.to_dict()})

        t0 = time.perf_counter()
        evaluator: ProcessPoolEvaluator | RayEvaluator | None = None
        if cfg.search.backend == "ray":
            evaluator = RayEvaluator(task, cfg.search.workers, cfg.search.address)
        elif cfg.search.workers > 1:
            evaluator = ProcessPoolEvaluator(task, cfg.search.workers)
        try:
            ga = GeneticSearch(space, task, ga_cfg, evaluator=evaluator, initial=[initial], on_generation=on_gen)
            result = ga.run()
        finally:
            if evaluator is not None:
                evaluator.close()
        chromosome = result.best
        search_out.update({
            "best_val_mae": result.best_fitness, "evaluations": result.evaluations,
            "seconds": time.perf_counter() - t0, "initial_val_mae": result.cache.get(space.repair(initial).key()),
            "history": [r.to_dict() for r in result.history], "workers": cfg.search.workers,
            "backend": cfg.search.backend,
        })

    # 5: final training
    models: dict[str, Any] = {}
    curves: dict[str, list[float]] = {}
    test_preds: dict[str, np.ndarray] = {}

    def train_pair(transfer: str, label: str) -> None:
        runs = []
        for r in range(cfg.repeats):
            s = cfg.seed * 1000 + r
            torch.manual_seed(s)
            model = CoDeepNet(chromosome, L, transfer, cfg.model.prediction, cfg.model.dropout,  # type: ignore[arg-type]
                              mean, std)
            res = fit_pair(model, x_tr, y_tr, x_va, a_va, scaler, train_cfg, seed=s, device=device,
                           log_fn=lambda rec, r=r: rundir.log_metrics({"phase": "train", "model": label,
                                                                       "repeat": r, **rec}))
            pred = scaler.decode(predict(model, x_te, device))
            members = model.forward_members(torch.as_tensor(x_te, device=device)).detach().cpu().numpy()[:, :, 0]
            member_mae = [float(np.mean(np.abs(scaler.decode(m) - a_te))) for m in members]
            runs.append({**regression_metrics(a_te, pred), "val_mae": res.best_val_mae, "member_mae": member_mae,
                         "train_seconds": res.train_seconds, "epochs_run": res.epochs_run,
                         "best_epoch": res.best_epoch, "swaps": res.swaps})
            if r == 0:
                curves[label] = [h["val_mae"] for h in res.history]
                test_preds[label] = pred
                artifacts.save_pair(rundir, transfer, label == "codeepnet", model, chromosome, scaler, pre)
                if label == "codeepnet":
                    from safetensors.torch import save

                    atomic_write_bytes(rundir.checkpoint_dir / "codeepnet.safetensors",
                                       save({k: v.contiguous().cpu() for k, v in model.state_dict().items()}))
        p_a, p_b = model.num_parameters()
        fwd = forward_flops(model, L)
        # one training step per sample ≈ forward + backward (≈ 3 forwards) of the active network plus the partner's
        # forward; averaged over turns that is ≈ 2 pair forwards (the pair forward runs both networks)
        models[label] = {**_summarise(runs), "transfer": transfer, "n_parameters": p_a + p_b,
                         "n_parameters_per_net": [p_a, p_b], "forward_flops": fwd,
                         "train_gflops": float(np.mean([2 * fwd * len(tr) * r["epochs_run"] for r in runs]) / 1e9)}
        bar.update(task_id, advance=1)

    n_steps = 1 + len(cfg.ablations) + int(cfg.baselines.single_cnn) + len(cfg.baselines.sklearn)
    with progress_bar() as bar:
        task_id = bar.add_task("codeepnet: final training", total=n_steps)
        train_pair(cfg.model.transfer, "codeepnet")
        for mode in cfg.ablations:
            train_pair(mode, f"codeepnet[{mode}]")
        pair_params = models["codeepnet"]["n_parameters"]

        if cfg.baselines.single_cnn:
            lr_pair = chromosome.learning_rate
            best_lr, best_val = lr_pair, float("inf")
            if len(cfg.baselines.single_cnn_lr_multipliers) > 1:  # choose the learning rate on validation
                for mult in cfg.baselines.single_cnn_lr_multipliers:
                    torch.manual_seed(cfg.seed * 1000)
                    net = larger_single_cnn(chromosome, L, pair_params, cfg.baselines.single_cnn_param_ratio,
                                            cfg.model.dropout, mean, std)
                    tc = TrainConfig(**{**train_cfg.__dict__, "learning_rate": lr_pair * mult})
                    res = fit_single(net, x_tr, y_tr, x_va, a_va, scaler, tc, seed=cfg.seed * 1000, device=device)
                    if res.best_val_mae < best_val:
                        best_lr, best_val = lr_pair * mult, res.best_val_mae
            runs = []
            tc = TrainConfig(**{**train_cfg.__dict__, "learning_rate": best_lr})
            for r in range(cfg.repeats):
                s = cfg.seed * 1000 + r
                torch.manual_seed(s)
                net = larger_single_cnn(chromosome, L, pair_params, cfg.baselines.single_cnn_param_ratio,
                                        cfg.model.dropout, mean, std)
                res = fit_single(net, x_tr, y_tr, x_va, a_va, scaler, tc, seed=s, device=device,
                                 log_fn=lambda rec, r=r: rundir.log_metrics({"phase": "train", "model": "single_cnn",
                                                                             "repeat": r, **rec}))
                pred = scaler.decode(predict(net, x_te, device))
                runs.append({**regression_metrics(a_te, pred), "val_mae": res.best_val_mae,
                             "train_seconds": res.train_seconds, "epochs_run": res.epochs_run,
                             "best_epoch": res.best_epoch})
                if r == 0:
                    curves["single_cnn"] = [h["val_mae"] for h in res.history]
                    test_preds["single_cnn"] = pred
                    artifacts.save_single(rundir, net, L, cfg.model.dropout, scaler, pre)
            g = net.genes
            fwd = forward_flops(net, L)
            models["single_cnn"] = {**_summarise(runs), "n_parameters": count_parameters(net), "forward_flops": fwd,
                                    "train_gflops": float(np.mean([3 * fwd * len(tr) * r["epochs_run"]
                                                                   for r in runs]) / 1e9),
                                    "learning_rate": best_lr,
                                    "architecture": {"conv": [[c.channels, c.kernel, c.pool] for c in g.conv],
                                                     "fc": list(g.fc)}}
            bar.update(task_id, advance=1)

        for name in cfg.baselines.sklearn:
            b = fit_sklearn_baseline(name, x_tr, y_tr, x_va, a_va, x_te, a_te, scaler, cfg.baselines.gbr_estimators,
                                     seed=cfg.seed)
            models[name] = {**b.metrics, "mae_std": 0.0, "val_mae": b.val_mae, "n_parameters": b.n_parameters,
                            "train_seconds": b.train_seconds, "hyperparameters": b.params}
            test_preds[name] = b.test_pred
            bar.update(task_id, advance=1)
        for b, entry in clock_models(cfg, data, va, te):
            models[b.name], test_preds[b.name] = entry, b.test_pred

    # 6: figures and claims
    _figures(rundir, search_out, curves, test_preds, a_te)
    mae = {k: v["mae"] for k, v in models.items()}
    pair = models["codeepnet"]
    claims: dict[str, Any] = {}
    if "single_cnn" in models:
        single = models["single_cnn"]
        claims["pair_beats_single_cnn_mae"] = pair["mae"] < single["mae"]
        claims["pair_fewer_parameters_than_single_cnn"] = pair["n_parameters"] < single["n_parameters"]
        claims["pair_fewer_forward_flops_than_single_cnn"] = pair["forward_flops"] < single["forward_flops"]
        claims["pair_less_training_time_than_single_cnn"] = pair["train_seconds"] < single["train_seconds"]
        claims["pair_fewer_training_flops_than_single_cnn"] = pair["train_gflops"] < single["train_gflops"]
    for name in ("svr", "gbr", "elastic_net", "horvath2013", "hannum2013"):
        if name in models:
            claims[f"pair_beats_{name}_mae"] = pair["mae"] < models[name]["mae"]
    claims["pair_mae_below_4_years"] = pair["mae"] < 4.0
    return {
        "experiment": "codeepnet",
        "device": str(device),
        "data": data_info,
        "target_transform": cfg.target_transform,
        "chromosome": chromosome.to_dict(),
        "chromosome_description": chromosome.describe(),
        "search": search_out,
        "mae": mae,
        "test": {f"{k}_mae": v for k, v in mae.items()},
        "models": models,
        "claims": claims,
        "seconds": time.perf_counter() - t_start,
    }


def _figures(rundir: RunDir, search: dict[str, Any], curves: dict[str, list[float]],
             preds: dict[str, np.ndarray], ages: np.ndarray) -> None:
    from coterie.utils.figures import subplots

    if search.get("history"):
        h = search["history"]
        fig, ax = subplots(figsize=(5, 3.5))
        gens = [r["generation"] for r in h]
        ax.plot(gens, [r["best_fitness"] for r in h], "o-", label="best of generation")
        ax.plot(gens, [r["mean_fitness"] for r in h], "s--", label="population mean")
        ax.plot(gens, [r["best_overall_fitness"] for r in h], ":", label="best so far")
        ax.set_xlabel("generation")
        ax.set_ylabel("validation MAE (years)")
        ax.set_title("Co-DeepNet genetic architecture search")
        ax.legend()
        rundir.save_figure(fig, "ga_history.png")
    if curves:
        fig, ax = subplots(figsize=(5, 3.5))
        for name, c in curves.items():
            ax.plot(range(1, len(c) + 1), c, label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("validation MAE (years)")
        ax.set_yscale("log")
        ax.legend()
        rundir.save_figure(fig, "validation_curves.png")
    if preds:
        n = len(preds)
        cols = min(n, 3)
        rows = (n + cols - 1) // cols
        fig, axes = subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
        lim = [0.0, float(max(ages.max(), max(p.max() for p in preds.values()))) + 2]
        for ax, (name, p) in zip(axes.flat, preds.items()):
            ax.scatter(ages, p, s=6, alpha=0.6)
            ax.plot(lim, lim, "k--", lw=0.8)
            ax.set_title(f"{name}: MAE {np.mean(np.abs(p - ages)):.2f}")
            ax.set_xlabel("age")
            ax.set_ylabel("predicted")
        for ax in list(axes.flat)[n:]:
            ax.axis("off")
        fig.tight_layout()
        rundir.save_figure(fig, "test_predictions.png")
