"""MeGA: merging two trained networks with a genetic algorithm (seed 003, Algorithm 1).

An individual is a full weight vector θ (D,). The algorithm, as in the paper:

1. **Initialisation** — P individuals θ_i = α θ_1 + (1 − α) θ_2 with α ~ U(0, 1).
2. **Fitness** — F(θ) = accuracy on the *fitness* (validation) data.
3. **Selection** — K parents, each the fittest of t individuals drawn at random (tournament selection).
4. **Crossover** — a child of parents (θ_a, θ_b) is β θ_a + (1 − β) θ_b with β ~ U(0, 1).
5. **Mutation** — every weight of a child, with probability p_mut, gets ε ~ N(0, σ²).
6. **Update** — the next population is the best individual (elitism) plus the children.
7. The best individual over all generations is returned.

Genomes (how many mixing coefficients α and β are drawn):

- ``scalar`` (the paper): one α per individual, one β per child — without mutation every individual lies on the
  segment between θ_1 and θ_2, so this is a stochastic line search plus mutation.
- ``layer``: one coefficient per tensor (weight, bias, BatchNorm statistic).
- ``element``: one coefficient per weight.

Choices where the paper is vague (each is a parameter):

- Children per generation: P − 1 with elitism (P without), so the population size stays P. Each child takes two
  distinct parents drawn at random from the K selected ones ("each pair of selected parents gives a child" cannot
  refill the population with K = 4 otherwise).
- σ is not given in the paper; the default 0.01 is an absolute standard deviation. Only *parameters* mutate —
  noise on BatchNorm running variances could make them negative.
- The population is evaluated in ``generations`` rounds (round 1 is the initial population); the paper's loop also
  breeds after the last evaluation, offspring that are never scored, which is skipped here.
- Running statistics are blended like weights. With ``bn_data``, every candidate's BatchNorm statistics are
  re-estimated on that (training) data before it is scored, so fitness measures the repaired network; the
  returned model then carries repaired statistics.
- Fitness ties keep the earlier individual; the elite sits at index 0, so a tie never replaces it.

Fitness data must be a validation split: the paper's public code scores fitness on the test set, which turns the
reported test accuracy into a selected (optimistic) number. :mod:`coterie.merging.data` refuses held-out data here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor, nn

from coterie.merging.bn import has_batchnorm, recompute_population
from coterie.merging.data import DataArg, as_batches
from coterie.merging.scoring import PopulationScorer, ScoreMethod
from coterie.merging.state import StateLayout, check_compatible
from coterie.utils.progress import progress_bar

log = logging.getLogger(__name__)

Genome = Literal["scalar", "layer", "element"]
GENOMES: tuple[str, ...] = ("scalar", "layer", "element")


@dataclass
class MegaHistory:
    """What a MeGA run did.

    Attributes:
        best: best fitness in the population, per generation (G,). Never decreases with elitism.
        mean: mean fitness of the population, per generation (G,).
        best_so_far: best fitness seen up to each generation (G,).
        best_fitness: fitness of the returned individual.
        best_generation: generation (1-based) in which the returned individual was first scored.
        alpha: for the ``scalar`` genome, the returned individual's position on the segment (θ = α θ_1 + (1 − α) θ_2
            before mutation); for ``layer``, its coefficient per tensor; ``None`` for ``element``.
        evaluations: number of candidate evaluations (fitness calls).
        seconds: wall time.
    """

    genome: str
    best: list[float] = field(default_factory=list)
    mean: list[float] = field(default_factory=list)
    best_so_far: list[float] = field(default_factory=list)
    best_fitness: float = float("nan")
    best_generation: int = 0
    alpha: float | dict[str, float] | None = None
    evaluations: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict."""
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _coefficients(genome: str, n: int, layout: StateLayout, gen: torch.Generator, device: torch.device) -> Tensor:
    """Mixing coefficients ~ U(0, 1): (n, 1) scalar, (n, T) layer, (n, D) element."""
    width = {"scalar": 1, "layer": len(layout.entries), "element": layout.dim}[genome]
    return torch.rand(n, width, generator=gen, device=device)


def _expand(coef: Tensor, genome: str, tensor_index: Tensor) -> Tensor:
    """Coefficients (n, ·) as per-element weights broadcastable against (n, D)."""
    return coef[:, tensor_index] if genome == "layer" else coef


def _data_batches(
    model: nn.Module, fitness_data: DataArg, bn_data: DataArg | None, batch_size: int, device: torch.device
) -> tuple[list[tuple[Tensor, Tensor]], list[tuple[Tensor, Tensor]] | None]:
    """Fitness batches, and BatchNorm re-estimation batches (None without ``bn_data`` or BatchNorm). ``bn_data`` is
    validated even for models without BatchNorm: test data is always refused."""
    batches = as_batches(fitness_data, role="fitness", batch_size=batch_size, device=device)
    if bn_data is None:
        return batches, None
    bn_batches = as_batches(bn_data, role="bn", batch_size=batch_size, device=device)
    return batches, bn_batches if has_batchnorm(model) else None


def mega(
    models: Sequence[nn.Module],
    fitness_data: DataArg,
    *,
    bn_data: DataArg | None = None,
    population: int = 20,
    generations: int = 20,
    parents: int = 4,
    tournament: int = 3,
    p_mut: float = 0.02,
    sigma: float = 0.01,
    genome: Genome = "scalar",
    elitism: bool = True,
    seed: int = 0,
    batch_size: int = 1024,
    score_method: ScoreMethod = "auto",
    chunk: int | None = None,
    progress: bool = True,
) -> tuple[nn.Module, MegaHistory]:
    """Merge two models of one architecture with MeGA (see the module docstring).

    Args:
        models: the two parents (θ_1, θ_2), same architecture, on one device. Align them first
            (:func:`coterie.merging.align`) to merge independently trained networks.
        fitness_data: validation data scoring the candidates: ``(x, y)``, a ``DataLoader`` or ``Splits`` (uses
            ``val``). Test data is refused.
        bn_data: optional training data; when given (and the models have BatchNorm), every candidate's running
            statistics are re-estimated on it before scoring.
        population: P, individuals per generation.
        generations: G, rounds of evaluation.
        parents: K, parents chosen by tournament each generation (≥ 2).
        tournament: t, individuals per tournament.
        p_mut: probability that a weight of a child mutates.
        sigma: standard deviation σ of the mutation noise (absolute).
        genome: ``scalar`` (paper), ``layer`` or ``element``.
        elitism: keep the best individual in the next population.
        seed: seeds every random draw of the run (independent of the global RNG).
        batch_size: fitness / BatchNorm batch size for tensor data.
        score_method: population scoring method (:mod:`coterie.merging.scoring`).
        chunk: candidates per vectorised scoring call (memory bound).
        progress: show a progress bar on a terminal.

    Returns:
        ``(merged_model, history)``: a new model (the parents are untouched) and a :class:`MegaHistory`.

    Raises:
        ArchitectureMismatchError: the parents differ (naming the first mismatching tensor).
        TypeError: held-out data passed as fitness or BatchNorm data.
        ValueError: invalid hyper-parameters or not exactly two models.
    """
    _check_arguments(models, genome, population, generations, parents, tournament, p_mut, sigma)
    t0 = time.perf_counter()
    device = next(models[0].parameters()).device
    layout = StateLayout(models[0])
    theta1, theta2 = layout.flatten(models[0]).to(device), layout.flatten(models[1]).to(device)
    batches, bn_batches = _data_batches(models[0], fitness_data, bn_data, batch_size, device)
    scorer = PopulationScorer(layout, batches, method=score_method, chunk=chunk)
    gen = torch.Generator(device=device).manual_seed(seed)
    tensor_index = layout.tensor_index(device)
    mutable = layout.parameter_mask(device)
    history = MegaHistory(genome=genome)

    # Initialisation: θ_i = α θ_1 + (1 − α) θ_2.
    alpha = _coefficients(genome, population, layout, gen, device)  # (P, 1|T|D)
    pop = theta2 + _expand(alpha, genome, tensor_index) * (theta1 - theta2)
    fitness = torch.full((population,), float("nan"), device=device)
    fresh = torch.arange(population, device=device)  # individuals not yet scored
    best_fit, best_vec, best_alpha = -float("inf"), pop[0].clone(), alpha[0].clone()
    n_children = population - 1 if elitism else population
    t_size = min(tournament, population)

    with progress_bar(enabled=progress) as bar:
        task = bar.add_task(f"MeGA ({genome})", total=generations)
        for g in range(1, generations + 1):
            sub = pop[fresh]
            if bn_batches is not None:
                recompute_population(layout, sub, bn_batches, chunk=chunk)
                pop[fresh] = sub
            fitness[fresh] = scorer(sub)
            history.evaluations += int(fresh.numel())
            i_best = int(torch.argmax(fitness))
            f_best = float(fitness[i_best])
            history.best.append(f_best)
            history.mean.append(float(fitness.mean()))
            if f_best > best_fit:
                best_fit, best_vec, best_alpha = f_best, pop[i_best].clone(), alpha[i_best].clone()
                history.best_generation = g
            history.best_so_far.append(best_fit)
            log.debug("MeGA generation %d: best %.4f mean %.4f", g, f_best, history.mean[-1])
            bar.update(task, advance=1, description=f"MeGA ({genome}) best {best_fit:.4f}")
            if g == generations:
                break
            children, child_alpha = _breed(
                pop,
                alpha,
                fitness,
                genome,
                layout,
                gen,
                parents,
                t_size,
                n_children,
                p_mut,
                sigma,
                mutable,
                tensor_index,
            )
            pop, alpha, fitness, fresh = _next_population(pop, alpha, fitness, children, child_alpha, i_best, elitism)

    history.best_fitness = best_fit
    history.alpha = _alpha_record(genome, layout, best_alpha)
    history.seconds = time.perf_counter() - t0
    merged = layout.build(best_vec).to(device)
    merged.train(models[0].training)
    return merged, history


def _check_arguments(
    models: Sequence[nn.Module],
    genome: str,
    population: int,
    generations: int,
    parents: int,
    tournament: int,
    p_mut: float,
    sigma: float,
) -> None:
    """Refuse invalid MeGA arguments with a one-line message (and parents of different architectures)."""
    if len(models) != 2:
        raise ValueError(
            f"MeGA merges two models, got {len(models)}; use coterie.merging.hierarchical for more (seed 003 §4.3)"
        )
    if genome not in GENOMES:
        raise ValueError(f"unknown genome {genome!r}; choose from {GENOMES}")
    if population < 2 or generations < 1 or parents < 2 or tournament < 1:
        raise ValueError("need population >= 2, generations >= 1, parents >= 2, tournament >= 1")
    if not 0.0 <= p_mut <= 1.0 or sigma < 0:
        raise ValueError(f"need 0 <= p_mut <= 1 and sigma >= 0, got p_mut={p_mut}, sigma={sigma}")
    check_compatible(models)


def _breed(
    pop: Tensor,
    alpha: Tensor,
    fitness: Tensor,
    genome: str,
    layout: StateLayout,
    gen: torch.Generator,
    parents: int,
    t_size: int,
    n_children: int,
    p_mut: float,
    sigma: float,
    mutable: Tensor,
    tensor_index: Tensor,
) -> tuple[Tensor, Tensor]:
    """Selection, crossover and mutation: ``n_children`` children (n, D) and their coefficients (n, 1|T|D).

    Selection: K = ``parents`` tournaments of ``t_size`` individuals of the scored population ``pop`` (P, D).
    Crossover: each child blends two distinct winners with β ~ U(0, 1). Mutation: each parameter element with
    probability ``p_mut`` gets N(0, σ²) (``mutable``: (D,) parameter mask; ``tensor_index``: (D,), see
    :meth:`StateLayout.tensor_index`). Draws from ``gen`` in that order.
    """
    device = pop.device
    population = pop.shape[0]
    cand = torch.stack([torch.randperm(population, generator=gen, device=device)[:t_size] for _ in range(parents)])
    winners = cand.gather(1, fitness[cand].argmax(1, keepdim=True)).squeeze(1)  # (K,)
    first = torch.randint(parents, (n_children,), generator=gen, device=device)
    second = (first + torch.randint(1, parents, (n_children,), generator=gen, device=device)) % parents
    ia, ib = winners[first], winners[second]
    beta = _coefficients(genome, n_children, layout, gen, device)
    children = pop[ib] + _expand(beta, genome, tensor_index) * (pop[ia] - pop[ib])
    child_alpha = alpha[ib] + beta * (alpha[ia] - alpha[ib]) if genome != "element" else beta
    if p_mut > 0 and sigma > 0:
        hit = (torch.rand(children.shape, generator=gen, device=device) < p_mut) & mutable
        noise = torch.randn(children.shape, generator=gen, device=device) * sigma
        children = children + hit * noise
    return children, child_alpha


def _next_population(
    pop: Tensor, alpha: Tensor, fitness: Tensor, children: Tensor, child_alpha: Tensor, i_best: int, elitism: bool
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The next ``(pop, alpha, fitness, fresh)``: the children, after the elite (index 0) when ``elitism``.

    ``fitness`` is NaN for the unscored children; ``fresh`` indexes them.
    """
    device = pop.device
    population = pop.shape[0]
    if elitism:
        n_children = children.shape[0]
        unscored = torch.full((n_children,), float("nan"), device=device)
        return (
            torch.cat([pop[i_best : i_best + 1], children]),
            torch.cat([alpha[i_best : i_best + 1], child_alpha]),
            torch.cat([fitness[i_best : i_best + 1], unscored]),
            torch.arange(1, population, device=device),
        )
    fresh = torch.arange(population, device=device)
    return children, child_alpha, torch.full((population,), float("nan"), device=device), fresh


def _alpha_record(genome: str, layout: StateLayout, best_alpha: Tensor) -> float | dict[str, float] | None:
    """The returned individual's coefficients for :class:`MegaHistory`: a float (scalar), per tensor (layer), None."""
    if genome == "scalar":
        return float(best_alpha[0])
    if genome == "layer":
        return {e.key: float(a) for e, a in zip(layout.entries, best_alpha)}
    return None
