"""Step 4 of ``experiment: codeepnet``: the genetic architecture search, fitness = validation MAE of a pair trained
for ``search.fitness_epochs`` epochs, averaged over ``search.fitness_seeds`` training seeds, plus
``search.cost_weight`` × the ``search.cost`` term (thousands of parameters or forward MFLOPs); the hand-designed (or
configured) chromosome is in the first population. Every evaluated chromosome and the Pareto front of (validation MAE,
parameters) go into results.json (``search.evaluated``, ``search.pareto_front``)."""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import torch

from coterie.cooperative.chromosome import Chromosome, SearchSpace, default_chromosome
from coterie.cooperative.fitness import FitnessTask
from coterie.cooperative.genetic import GAConfig, GeneticSearch, ProcessPoolEvaluator, RayEvaluator
from coterie.cooperative.pareto import model_cost, pareto_front
from coterie.experiments.codeepnet.config import CoDeepNetConfig
from coterie.experiments.codeepnet.prepare import PreparedData, train_config
from coterie.utils.rundir import RunDir


def initial_chromosome(cfg: CoDeepNetConfig) -> Chromosome:
    """``model.chromosome`` when given, else the hand-designed default."""
    return Chromosome.from_dict(cfg.model.chromosome) if cfg.model.chromosome else default_chromosome()


def _space(cfg: CoDeepNetConfig, length: int) -> SearchSpace:
    sp = cfg.search.space
    return SearchSpace(
        input_length=length,
        conv_depth=sp.conv_depth,
        channels=tuple(sp.channels),
        kernels=tuple(sp.kernels),
        fc_depth=sp.fc_depth,
        fc_widths=tuple(sp.fc_widths),
        transmission_rates=tuple(sp.transmission_rates),
        lr_range=sp.lr_range,
    )


def _evaluator(cfg: CoDeepNetConfig, task: FitnessTask) -> ProcessPoolEvaluator | RayEvaluator | None:
    """Ray tasks (backend ray), a process pool (workers > 1) or ``None`` (in this process)."""
    if cfg.search.backend == "ray":
        return RayEvaluator(task, cfg.search.workers, cfg.search.address)
    if cfg.search.workers > 1:
        return ProcessPoolEvaluator(task, cfg.search.workers)
    return None


def search_architecture(
    cfg: CoDeepNetConfig, prep: PreparedData, rundir: RunDir, device: torch.device, model: str = "pair"
) -> tuple[Chromosome, dict[str, Any]]:
    """The chromosome to train and the ``search`` section of results.json; each generation is logged to
    metrics.jsonl (``phase: search``, ``model``). With the search off: the initial chromosome and
    ``{"enabled": False}``. ``model="single"`` searches the single larger CNN with the same GA settings and budget
    (:class:`~coterie.cooperative.fitness.FitnessTask`)."""
    initial = initial_chromosome(cfg)
    if not cfg.search.enabled:
        return initial, {"enabled": False}
    space = _space(cfg, prep.length)
    fit_budget = dataclasses.replace(
        train_config(cfg), epochs=cfg.search.fitness_epochs, patience=cfg.search.fitness_patience
    )
    parallel = cfg.search.workers > 1 or cfg.search.backend == "ray"
    task = FitnessTask(
        prep.x_tr,
        prep.y_tr,
        prep.x_va,
        prep.a_va,
        prep.scaler,
        prep.mean,
        prep.std,
        fit_budget,
        cfg.model.transfer,
        cfg.model.prediction,
        cfg.model.dropout,
        seed=cfg.seed,
        torch_threads=1 if parallel else torch.get_num_threads(),
        device=str(device),
        n_seeds=cfg.search.fitness_seeds,
        cost=cfg.search.cost,
        cost_weight=cfg.search.cost_weight,
        model=model,
        single_ratio=cfg.baselines.single_cnn_param_ratio,
    )
    s = cfg.search
    ga_cfg = GAConfig(
        s.population_size, s.generations, s.tournament_size, s.crossover_rate, s.mutation_rate, s.elitism, cfg.seed
    )
    t0 = time.perf_counter()
    evaluator = _evaluator(cfg, task)
    try:
        ga = GeneticSearch(
            space,
            task,
            ga_cfg,
            evaluator=evaluator,
            initial=[initial],
            on_generation=lambda rec: rundir.log_metrics(
                {"phase": "search", "model": model, **rec.to_dict()}, key=("phase", "model", "generation")
            ),
        )
        result = ga.run()
    finally:
        if evaluator is not None:
            evaluator.close()
    return result.best, {
        "enabled": True,
        "best_val_mae": result.best_fitness,
        "evaluations": result.evaluations,
        "seconds": time.perf_counter() - t0,
        "initial_val_mae": result.cache.get(space.repair(initial).key()),
        "history": [r.to_dict() for r in result.history],
        "workers": s.workers,
        "backend": s.backend,
        "fitness_seeds": s.fitness_seeds,
        "cost": s.cost,
        "cost_weight": s.cost_weight,
        **evaluated_front(task, result.chromosomes, result.cache, prep.length),
    }


def evaluated_front(
    task: FitnessTask, chromosomes: dict[str, Chromosome], fitness: dict[str, float], length: int
) -> dict[str, Any]:
    """``evaluated``: every evaluated chromosome (key, fitness, validation MAE = fitness − cost term, parameters,
    forward FLOPs, description) and ``pareto_front``: the keys of those no other beats on both MAE and parameters."""
    rows = []
    for key, c in chromosomes.items():
        params, flops = model_cost(task.build(c), length)
        f = fitness[key]
        rows.append(
            {
                "key": key,
                "fitness": f,
                "val_mae": f - task.penalty(c) if math.isfinite(f) else f,
                "parameters": params,
                "forward_flops": flops,
                "description": c.describe(),
            }
        )
    finite = [r for r in rows if math.isfinite(r["val_mae"])]
    return {"evaluated": rows, "pareto_front": [finite[i]["key"] for i in pareto_front(finite)]}
