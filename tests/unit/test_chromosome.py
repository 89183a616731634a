"""Co-DeepNet chromosome: validity, repair, model round trip, crossover and mutation always valid (hypothesis)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coterie.cooperative import (
    Chromosome,
    CoDeepNet,
    ConvGene,
    GAConfig,
    GeneticSearch,
    NetGenes,
    SearchSpace,
    crossover,
    default_chromosome,
    mutate,
    tournament_select,
)

SPACES = [
    SearchSpace(input_length=40),
    SearchSpace(input_length=5, conv_depth=(1, 4)),  # at most 2 pools fit
    SearchSpace(input_length=200, conv_depth=(2, 3), fc_depth=(1, 3), channels=(2, 6), kernels=(1, 3, 11)),
]

space_st = st.sampled_from(SPACES)
seed_st = st.integers(0, 2**32 - 1)


def _random(space: SearchSpace, seed: int) -> Chromosome:
    return space.random(np.random.default_rng(seed))


@settings(max_examples=60, deadline=None)
@given(space=space_st, seed=seed_st)
def test_random_chromosomes_are_valid_and_serialise(space: SearchSpace, seed: int) -> None:
    c = _random(space, seed)
    assert space.is_valid(c), space.problems(c)
    assert Chromosome.from_dict(c.to_dict()) == c
    assert c.key() == Chromosome.from_dict(c.to_dict()).key()


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(space=space_st, seed=seed_st, transfer=st.sampled_from(["features", "features+distill", "distill", "none"]))
def test_chromosome_model_chromosome_round_trip(space: SearchSpace, seed: int, transfer: str) -> None:
    c = _random(space, seed)
    model = CoDeepNet(c, space.input_length, transfer=transfer)  # type: ignore[arg-type]
    assert model.to_chromosome() == c
    out = model(torch.rand(3, space.input_length))
    assert out.shape == (3, 1)
    assert model.forward_members(torch.rand(2, space.input_length)).shape == (2, 2, 1)


@settings(max_examples=150, deadline=None)
@given(space=space_st, s1=seed_st, s2=seed_st, s3=seed_st)
def test_crossover_always_valid(space: SearchSpace, s1: int, s2: int, s3: int) -> None:
    a, b = _random(space, s1), _random(space, s2)
    c1, c2 = crossover(a, b, space, np.random.default_rng(s3))
    assert space.is_valid(c1), space.problems(c1)
    assert space.is_valid(c2), space.problems(c2)
    # genes come from the parents: every child conv gene value is one a parent had in that slot's pool
    for slot in (0, 1):
        parent_channels = {g.channels for g in a.nets[slot].conv + b.nets[slot].conv}
        for child in (c1, c2):
            assert {g.channels for g in child.nets[slot].conv} <= parent_channels
    assert {c1.transmission_rate, c2.transmission_rate} == {a.transmission_rate, b.transmission_rate}


@settings(max_examples=150, deadline=None)
@given(space=space_st, s1=seed_st, s2=seed_st, rate=st.floats(0.0, 1.0))
def test_mutation_always_valid(space: SearchSpace, s1: int, s2: int, rate: float) -> None:
    c = _random(space, s1)
    rng = np.random.default_rng(s2)
    for _ in range(5):
        c = mutate(c, space, rng, rate)
        assert space.is_valid(c), space.problems(c)


def test_mutation_changes_structure_at_rate_one() -> None:
    space = SearchSpace(input_length=64)
    rng = np.random.default_rng(0)
    c = default_chromosome()
    changed = sum(mutate(c, space, rng, 1.0) != c for _ in range(50))
    assert changed >= 45
    depths = {len(mutate(c, space, rng, 1.0).nets[0].conv) for _ in range(200)}
    assert depths >= {1, 2, 3}


def test_repair_removes_excess_pools_and_snaps_genes() -> None:
    space = SearchSpace(input_length=5, conv_depth=(1, 4))
    net = NetGenes(tuple(ConvGene(7, 4, "max") for _ in range(5)), (1000,), "gap")
    c = Chromosome((net, net), transmission_rate=7, learning_rate=5.0)
    assert not space.is_valid(c)
    r = space.repair(c)
    assert space.is_valid(r)
    assert len(r.nets[0].conv) == 4 and sum(g.pool != "none" for g in r.nets[0].conv) == 2
    assert r.learning_rate == space.lr_range[1] and r.transmission_rate in space.transmission_rates


def test_tournament_prefers_fitter() -> None:
    rng = np.random.default_rng(0)
    fitness = [5.0, 1.0, 3.0, 4.0]
    assert tournament_select(fitness, 4, rng) == 1
    wins = [tournament_select(fitness, 2, rng) for _ in range(400)]
    assert wins.count(1) > wins.count(0)


def test_genetic_search_improves_toy_fitness_and_records_history() -> None:
    space = SearchSpace(input_length=32)

    def fitness(c: Chromosome) -> float:  # prefers wide first layers and a transmission rate of 10
        return sum(32 - n.conv[0].channels for n in c.nets) + abs(c.transmission_rate - 10)

    records = []
    ga = GeneticSearch(space, fitness, GAConfig(population_size=8, generations=6, seed=0), on_generation=records.append)
    result = ga.run()
    assert len(result.history) == 7 == len(records)
    best = [r.best_overall_fitness for r in result.history]
    assert all(b2 <= b1 for b1, b2 in itertools.pairwise(best))
    assert best[-1] < best[0]
    assert result.best_fitness == pytest.approx(fitness(result.best))
    assert result.evaluations == len(result.cache) <= 8 * 7
    assert Chromosome.from_dict(result.history[-1].best).nets


def test_genetic_search_is_reproducible() -> None:
    space = SearchSpace(input_length=32)

    def fitness(c: Chromosome) -> float:
        return float(sum(g.kernel for n in c.nets for g in n.conv)) + c.learning_rate

    runs = [GeneticSearch(space, fitness, GAConfig(population_size=6, generations=3, seed=5)).run() for _ in range(2)]
    assert runs[0].best == runs[1].best
    assert [r.best_fitness for r in runs[0].history] == [r.best_fitness for r in runs[1].history]
