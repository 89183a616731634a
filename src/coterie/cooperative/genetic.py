"""Genetic architecture search over Co-DeepNet chromosomes (seed 001).

* **Fitness**: validation MAE (years, lower is better) of a pair (or its single larger CNN) built from the
  chromosome and trained for a short budget, averaged over training seeds, plus an optional cost term
  (:class:`~coterie.cooperative.fitness.FitnessTask`). The test split never enters the search.
* **Selection**: tournament of ``tournament_size`` individuals drawn without replacement; the fittest wins.
* **Crossover**, two steps (:func:`crossover`):

  1. *block exchange* — for each network slot, a cut point in each parent's convolution block and in each parent's
     FC block; the children exchange the tails (whole runs of layers, so depths can change); the cooperation genes
     (transmission rate, learning rate) are exchanged as one block with probability ½;
  2. *gene mixing* — at every layer position both children have, each gene (channels, kernel, pooling; FC width)
     is swapped between the children with probability ½, and so is each network's connection gene.

* **Mutation**, structural (:func:`mutate`): with probability ``rate`` per network, one of: add a convolution
  layer, remove one, change a layer's width (one step in the channel choices), its kernel (one step), its pooling,
  add / remove / resize an FC layer, flip the connection gene; with probability ``rate`` the cooperation genes:
  transmission rate one step, learning rate × exp(N(0, 0.5²)).
* Every child is passed through :meth:`SearchSpace.repair`, so crossover and mutation always yield valid chromosomes.
* **Elitism**: the best ``elitism`` individuals pass unchanged; evaluated chromosomes are cached by key, so elites
  and duplicates are not retrained.
* **Parallel fitness**: fitness evaluations of a generation go through an ``evaluator`` — any callable mapping a list
  of chromosomes to a list of fitness values. :class:`ProcessPoolEvaluator` (a ``spawn`` process pool, one torch
  thread per worker) is the default when ``workers > 1``; :class:`RayEvaluator` runs them on a Ray cluster, as
  ``coterie sweep --backend ray`` does for runs. Each
  evaluation is seeded from the chromosome's key, so results do not depend on which worker ran it.
"""

from __future__ import annotations

import logging
import math
import multiprocessing as mp
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from coterie.cooperative.chromosome import Chromosome, ConvGene, NetGenes, SearchSpace
from coterie.cooperative.fitness import FitnessTask as FitnessTask  # re-exported: the fitness's old home

log = logging.getLogger(__name__)

Evaluator = Callable[[list[Chromosome]], list[float]]


# --------------------------------------------------------------------------------------------------------------------
# Operators
# --------------------------------------------------------------------------------------------------------------------


def tournament_select(fitness: Sequence[float], k: int, rng: np.random.Generator) -> int:
    """Index of the fittest (lowest) of ``k`` individuals drawn without replacement."""
    k = max(1, min(k, len(fitness)))
    contenders = rng.choice(len(fitness), size=k, replace=False)
    return int(min(contenders, key=lambda i: (fitness[i], i)))


def _exchange_tails(
    a: tuple[Any, ...], b: tuple[Any, ...], rng: np.random.Generator
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    i = int(rng.integers(0, len(a) + 1))
    j = int(rng.integers(0, len(b) + 1))
    return a[:i] + b[j:], b[:j] + a[i:]


def _mix(
    a: tuple[Any, ...], b: tuple[Any, ...], rng: np.random.Generator, mix_gene: Callable[..., tuple[Any, Any]]
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    la, lb = list(a), list(b)
    for p in range(min(len(la), len(lb))):
        la[p], lb[p] = mix_gene(la[p], lb[p], rng)
    return tuple(la), tuple(lb)


def _mix_conv(g: ConvGene, h: ConvGene, rng: np.random.Generator) -> tuple[ConvGene, ConvGene]:
    fields_g, fields_h = [g.channels, g.kernel, g.pool], [h.channels, h.kernel, h.pool]
    for k in range(3):
        if rng.random() < 0.5:
            fields_g[k], fields_h[k] = fields_h[k], fields_g[k]
    return ConvGene(*fields_g), ConvGene(*fields_h)  # type: ignore[arg-type]


def _mix_width(w: int, v: int, rng: np.random.Generator) -> tuple[int, int]:
    return (v, w) if rng.random() < 0.5 else (w, v)


def crossover(
    p1: Chromosome, p2: Chromosome, space: SearchSpace, rng: np.random.Generator
) -> tuple[Chromosome, Chromosome]:
    """Two-step crossover (block exchange, then gene mixing); both children repaired to validity."""
    c1_nets, c2_nets = [], []
    for slot in (0, 1):
        n1, n2 = p1.nets[slot], p2.nets[slot]
        # step 1: exchange blocks of layers
        conv1, conv2 = _exchange_tails(n1.conv, n2.conv, rng)
        fc1, fc2 = _exchange_tails(n1.fc, n2.fc, rng)
        # never leave an empty block: fall back to the parent's block
        conv1, conv2 = conv1 or n1.conv, conv2 or n2.conv
        fc1, fc2 = fc1 or n1.fc, fc2 or n2.fc
        # step 2: mix genes at aligned positions
        conv1, conv2 = _mix(conv1, conv2, rng, _mix_conv)
        fc1, fc2 = _mix(fc1, fc2, rng, _mix_width)
        s1, s2 = (n2.share, n1.share) if rng.random() < 0.5 else (n1.share, n2.share)
        c1_nets.append(NetGenes(conv1, fc1, s1))
        c2_nets.append(NetGenes(conv2, fc2, s2))
    coop1 = (p1.transmission_rate, p1.learning_rate)
    coop2 = (p2.transmission_rate, p2.learning_rate)
    if rng.random() < 0.5:
        coop1, coop2 = coop2, coop1
    c1 = Chromosome((c1_nets[0], c1_nets[1]), *coop1)
    c2 = Chromosome((c2_nets[0], c2_nets[1]), *coop2)
    return space.repair(c1), space.repair(c2)


def _step(value: Any, choices: tuple[Any, ...], rng: np.random.Generator) -> Any:
    """Move one step up or down in ``choices`` (from the nearest choice)."""
    ordered = sorted(choices, key=float)
    i = min(range(len(ordered)), key=lambda k: abs(float(ordered[k]) - float(value)))
    j = i + (1 if rng.random() < 0.5 else -1)
    if j < 0 or j >= len(ordered):
        j = i - (j - i)
    j = min(max(j, 0), len(ordered) - 1)
    return ordered[j]


def mutate_net(n: NetGenes, space: SearchSpace, rng: np.random.Generator) -> NetGenes:
    """One structural change to a network (depth, width, kernel, pooling, FC, connection), repaired."""
    conv, fc = list(n.conv), list(n.fc)
    ops = ["add_conv", "remove_conv", "width", "kernel", "pool", "add_fc", "remove_fc", "fc_width", "connection"]
    op = str(rng.choice(ops))
    if op == "add_conv" and len(conv) < space.conv_depth[1]:
        conv.insert(int(rng.integers(0, len(conv) + 1)), space.random_conv_gene(rng))
    elif op == "remove_conv" and len(conv) > space.conv_depth[0]:
        conv.pop(int(rng.integers(0, len(conv))))
    elif op == "width":
        i = int(rng.integers(0, len(conv)))
        conv[i] = replace(conv[i], channels=int(_step(conv[i].channels, space.channels, rng)))
    elif op == "kernel":
        i = int(rng.integers(0, len(conv)))
        conv[i] = replace(conv[i], kernel=int(_step(conv[i].kernel, space.kernels, rng)))
    elif op == "pool":
        i = int(rng.integers(0, len(conv)))
        others = [p for p in space.pools if p != conv[i].pool] or [conv[i].pool]
        conv[i] = replace(conv[i], pool=str(rng.choice(others)))
    elif op == "add_fc" and len(fc) < space.fc_depth[1]:
        fc.insert(int(rng.integers(0, len(fc) + 1)), int(rng.choice(space.fc_widths)))
    elif op == "remove_fc" and len(fc) > space.fc_depth[0]:
        fc.pop(int(rng.integers(0, len(fc))))
    elif op == "fc_width":
        i = int(rng.integers(0, len(fc)))
        fc[i] = int(_step(fc[i], space.fc_widths, rng))
    elif op == "connection":
        others = [s for s in space.shares if s != n.share] or [n.share]
        return space.repair_net(NetGenes(tuple(conv), tuple(fc), str(rng.choice(others))))
    else:  # a depth change at its bound: change a width instead
        i = int(rng.integers(0, len(conv)))
        conv[i] = replace(conv[i], channels=int(_step(conv[i].channels, space.channels, rng)))
    return space.repair_net(NetGenes(tuple(conv), tuple(fc), n.share))


def mutate(c: Chromosome, space: SearchSpace, rng: np.random.Generator, rate: float = 0.3) -> Chromosome:
    """Structural mutation: each network with probability ``rate``, the cooperation genes with probability ``rate``."""
    nets = [mutate_net(n, space, rng) if rng.random() < rate else n for n in c.nets]
    tr, lr = c.transmission_rate, c.learning_rate
    if rng.random() < rate:
        if rng.random() < 0.5:
            tr = int(_step(tr, space.transmission_rates, rng))
        else:
            lr = float(lr * math.exp(rng.normal(0.0, 0.5)))
    return space.repair(Chromosome((nets[0], nets[1]), tr, lr))


# --------------------------------------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------------------------------------


_WORKER_FN: Callable[[Chromosome], float] | None = None


def _worker_init(fn: Callable[[Chromosome], float]) -> None:
    global _WORKER_FN
    import torch

    torch.set_num_threads(1)
    _WORKER_FN = fn


def _worker_eval(c: Chromosome) -> float:
    assert _WORKER_FN is not None
    return _WORKER_FN(c)


class ProcessPoolEvaluator:
    """Evaluate chromosomes in a pool of ``workers`` spawned processes (the fitness function is sent once each).

    Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, fitness: Callable[[Chromosome], float], workers: int = 2) -> None:
        self.workers = max(1, int(workers))
        self._pool = ProcessPoolExecutor(
            self.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init, initargs=(fitness,)
        )

    def __call__(self, chromosomes: list[Chromosome]) -> list[float]:
        return list(self._pool.map(_worker_eval, chromosomes))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ProcessPoolEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RayEvaluator:
    """Evaluate chromosomes as Ray tasks — the sweep's ``--backend ray`` machinery, for fitness evaluations.

    Connects to the cluster at ``address`` (``"auto"`` for the one this machine belongs to) or starts a local Ray
    instance with ``workers`` CPUs; each task takes one CPU and runs torch with one thread. The fitness callable is
    put in Ray's object store once, not shipped with every task. A failed task raises the task's error.

    Raises:
        RuntimeError: ray is not installed (``pip install 'coterie[ray]'``).
    """

    def __init__(self, fitness: Callable[[Chromosome], float], workers: int = 2, address: str | None = None) -> None:
        from coterie.utils.ray_cluster import connect_ray

        ray, self._started_here = connect_ray(int(workers), address)
        self._ray = ray
        self._fitness_ref = ray.put(fitness)
        self._remote = ray.remote(num_cpus=1)(_ray_eval)

    def __call__(self, chromosomes: list[Chromosome]) -> list[float]:
        refs = [self._remote.remote(self._fitness_ref, c) for c in chromosomes]
        return [float(v) for v in self._ray.get(refs)]

    def close(self) -> None:
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()
        self._started_here = False

    def __enter__(self) -> RayEvaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ray_eval(fitness: Callable[[Chromosome], float], c: Chromosome) -> float:
    import torch

    torch.set_num_threads(1)
    return fitness(c)


# --------------------------------------------------------------------------------------------------------------------
# The search
# --------------------------------------------------------------------------------------------------------------------


@dataclass
class GAConfig:
    """Genetic-algorithm settings.

    Attributes:
        population_size: individuals per generation.
        generations: generations after the initial one (total evaluated generations = generations + 1).
        tournament_size: contenders per tournament.
        crossover_rate: probability that a pair of parents is crossed (else copied).
        mutation_rate: per-network / per-cooperation-block mutation probability.
        elitism: best individuals copied unchanged into the next generation.
        seed: seeds the GA's own random choices.
    """

    population_size: int = 8
    generations: int = 4
    tournament_size: int = 3
    crossover_rate: float = 0.9
    mutation_rate: float = 0.3
    elitism: int = 1
    seed: int = 0


@dataclass
class GenerationRecord:
    """Summary of one generation: best chromosome and fitness statistics (validation MAE, years)."""

    generation: int
    best_fitness: float
    best: dict[str, Any]
    mean_fitness: float
    median_fitness: float
    worst_fitness: float
    new_evaluations: int
    seconds: float
    best_overall_fitness: float

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


class SearchFailedError(RuntimeError):
    """Every architecture the genetic search evaluated failed (non-finite fitness), so there is no best one to use."""


def all_failed_error(evaluations: int, failures: Sequence[str]) -> SearchFailedError:
    """The error for a search whose ``evaluations`` chromosomes all failed, quoting the first failure when known."""
    first = (
        f"first failure: {failures[0]}"
        if failures
        else "no failure message reached this process (see the 'fitness evaluation failed' warnings)"
    )
    return SearchFailedError(
        f"every one of the {evaluations} architectures evaluated by the genetic search failed "
        f"(non-finite fitness), so none can be trained; {first}"
    )


@dataclass
class GAResult:
    best: Chromosome
    best_fitness: float
    history: list[GenerationRecord]
    evaluations: int
    cache: dict[str, float] = field(default_factory=dict)
    chromosomes: dict[str, Chromosome] = field(default_factory=dict)  # every evaluated chromosome by key


class GeneticSearch:
    """Minimise ``fitness`` (validation MAE) over chromosomes of ``space``.

    Args:
        space: the search space.
        fitness: ``chromosome → validation MAE``; used serially unless ``evaluator`` is given.
        config: GA settings.
        evaluator: maps a list of chromosomes to their fitness values (e.g. a :class:`ProcessPoolEvaluator`).
        initial: chromosomes placed in the first population (e.g. the hand-designed default), the rest random.
        on_generation: called with each :class:`GenerationRecord` (logging, metrics.jsonl).

    Raises:
        SearchFailedError: from :meth:`run`, when every evaluated chromosome's fitness is non-finite (quoting the
            first of ``fitness.failures``, as :class:`~coterie.cooperative.fitness.FitnessTask` keeps, if any).
    """

    def __init__(
        self,
        space: SearchSpace,
        fitness: Callable[[Chromosome], float] | None,
        config: GAConfig | None = None,
        evaluator: Evaluator | None = None,
        initial: Sequence[Chromosome] = (),
        on_generation: Callable[[GenerationRecord], None] | None = None,
    ) -> None:
        if fitness is None and evaluator is None:
            raise ValueError("give a fitness function or an evaluator")
        self.space = space
        self.config = config or GAConfig()
        self.fitness = fitness
        self.evaluator: Evaluator = evaluator or (lambda cs: [fitness(c) for c in cs])  # type: ignore[misc]
        self.initial = [space.repair(c) for c in initial]
        self.on_generation = on_generation
        self.cache: dict[str, float] = {}
        self.seen: dict[str, Chromosome] = {}

    def _evaluate(self, population: list[Chromosome]) -> tuple[list[float], int]:
        todo: dict[str, Chromosome] = {}
        for c in population:
            if c.key() not in self.cache:
                todo.setdefault(c.key(), c)
        if todo:
            self.seen.update(todo)
            values = self.evaluator(list(todo.values()))
            for k, v in zip(todo, values):
                self.cache[k] = float(v) if v is not None and math.isfinite(float(v)) else float("inf")
        return [self.cache[c.key()] for c in population], len(todo)

    def run(self) -> GAResult:
        cfg = self.config
        if cfg.population_size < 2:
            raise ValueError("population_size must be >= 2")
        rng = np.random.default_rng(cfg.seed)
        population = list(self.initial[: cfg.population_size])
        while len(population) < cfg.population_size:
            population.append(self.space.random(rng))
        history: list[GenerationRecord] = []
        best_c, best_f = population[0], float("inf")
        fitness: list[float] = []
        for gen in range(cfg.generations + 1):
            t0 = time.perf_counter()
            if gen > 0:
                population = self._next_generation(population, fitness, rng)
            fitness, n_new = self._evaluate(population)
            order = np.argsort(fitness, kind="stable")
            i_best = int(order[0])
            if fitness[i_best] < best_f:
                best_c, best_f = population[i_best], fitness[i_best]
            finite = [f for f in fitness if math.isfinite(f)] or [float("inf")]
            rec = GenerationRecord(
                gen,
                float(fitness[i_best]),
                population[i_best].to_dict(),
                float(np.mean(finite)),
                float(np.median(finite)),
                float(np.max(finite)),
                n_new,
                time.perf_counter() - t0,
                float(best_f),
            )
            history.append(rec)
            log.info(
                "generation %d: best val MAE %.3f (%s), mean %.3f, %d new evaluations",
                gen,
                rec.best_fitness,
                population[i_best].describe(),
                rec.mean_fitness,
                n_new,
            )
            if self.on_generation is not None:
                self.on_generation(rec)
        if not math.isfinite(best_f):
            raise all_failed_error(len(self.cache), getattr(self.fitness, "failures", ()))
        return GAResult(best_c, best_f, history, len(self.cache), dict(self.cache), dict(self.seen))

    def _next_generation(
        self, population: list[Chromosome], fitness: list[float], rng: np.random.Generator
    ) -> list[Chromosome]:
        cfg = self.config
        order = np.argsort(fitness, kind="stable")
        nxt = [population[int(i)] for i in order[: cfg.elitism]]
        while len(nxt) < cfg.population_size:
            a = population[tournament_select(fitness, cfg.tournament_size, rng)]
            b = population[tournament_select(fitness, cfg.tournament_size, rng)]
            if rng.random() < cfg.crossover_rate:
                c1, c2 = crossover(a, b, self.space, rng)
            else:
                c1, c2 = a, b
            nxt.append(mutate(c1, self.space, rng, cfg.mutation_rate))
            if len(nxt) < cfg.population_size:
                nxt.append(mutate(c2, self.space, rng, cfg.mutation_rate))
        return nxt
