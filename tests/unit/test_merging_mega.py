"""MeGA (seed 003 Algorithm 1): segment property, elitism, self-merge, determinism, BatchNorm-repaired fitness."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import merging, models
from coterie.merging.state import StateLayout


def _setup(hidden: tuple[int, ...] = (16,), n: int = 120) -> tuple[torch.nn.Module, torch.nn.Module, tuple]:
    torch.manual_seed(0)
    a, b = models.create("mlp", hidden=hidden), models.create("mlp", hidden=hidden)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(n, 40, generator=g)
    y = (x[:, :10].argmax(1)).long()  # learnable-ish labels so candidates differ in fitness
    return a, b, (x, y)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_scalar_without_mutation_stays_on_segment(seed: int) -> None:
    a, b, val = _setup()
    merged, hist = merging.mega([a, b], val, population=6, generations=4, p_mut=0.0, seed=seed, progress=False)
    layout = StateLayout(a)
    t1, t2, tm = layout.flatten(a), layout.flatten(b), layout.flatten(merged)
    d = t1 - t2
    alpha = float((tm - t2) @ d / (d @ d))
    assert -1e-6 <= alpha <= 1 + 1e-6
    assert torch.allclose(tm, t2 + alpha * d, atol=1e-5)
    assert hist.alpha == pytest.approx(alpha, abs=1e-4)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), genome=st.sampled_from(["scalar", "layer", "element"]))
def test_elitism_best_fitness_never_decreases(seed: int, genome: str) -> None:
    a, b, val = _setup()
    _, hist = merging.mega(
        [a, b], val, population=5, generations=5, p_mut=0.1, sigma=0.1, genome=genome, seed=seed, progress=False
    )
    assert len(hist.best) == len(hist.mean) == 5
    assert all(y >= x for x, y in zip(hist.best, hist.best[1:]))
    assert hist.best_fitness == max(hist.best)
    assert all(m <= bst + 1e-9 for m, bst in zip(hist.mean, hist.best))


def test_returned_model_scores_its_recorded_fitness() -> None:
    a, b, val = _setup()
    merged, hist = merging.mega([a, b], val, population=6, generations=3, genome="layer", seed=3, progress=False)
    assert merging.evaluate(merged, val)["accuracy"] == pytest.approx(hist.best_fitness)


def test_element_genome_without_mutation_stays_in_box() -> None:
    a, b, val = _setup()
    merged, _ = merging.mega([a, b], val, population=6, generations=3, genome="element", p_mut=0.0, progress=False)
    layout = StateLayout(a)
    t1, t2, tm = layout.flatten(a), layout.flatten(b), layout.flatten(merged)
    assert bool((tm >= torch.minimum(t1, t2) - 1e-6).all() and (tm <= torch.maximum(t1, t2) + 1e-6).all())


def test_self_merge_is_identity() -> None:
    a, _, val = _setup()
    merged, _ = merging.mega([a, a], val, population=5, generations=3, p_mut=0.0, progress=False)
    with torch.no_grad():
        assert torch.allclose(merged(val[0]), a(val[0]), atol=1e-5)


def test_seeded_runs_repeat_and_parents_untouched() -> None:
    a, b, val = _setup()
    before = a.fc1.weight.clone()
    m1, h1 = merging.mega([a, b], val, population=5, generations=3, seed=7, progress=False)
    m2, h2 = merging.mega([a, b], val, population=5, generations=3, seed=7, progress=False)
    assert h1.best == h2.best and torch.equal(m1.fc1.weight, m2.fc1.weight)
    assert torch.equal(a.fc1.weight, before)


def test_invalid_arguments() -> None:
    a, b, val = _setup()
    with pytest.raises(ValueError, match="hierarchical"):
        merging.mega([a, b, a], val)
    with pytest.raises(ValueError, match="genome"):
        merging.mega([a, b], val, genome="tensor")  # type: ignore[arg-type]
    with pytest.raises(merging.ArchitectureMismatchError, match=r"fc1\.weight"):
        merging.mega([a, models.create("mlp", hidden=(8,))], val)


def test_bn_data_scores_repaired_candidates() -> None:
    torch.manual_seed(0)
    kw = dict(in_channels=1, num_classes=3, width=2, blocks=1)
    a, b = models.create("resnet20", **kw), models.create("resnet20", **kw)
    x, y = torch.rand(48, 1, 8, 8), torch.randint(0, 3, (48,))
    merged, hist = merging.mega(
        [a, b], (x[:24], y[:24]), bn_data=(x[24:], y[24:]), population=4, generations=2, progress=False
    )
    repaired = merging.bn.recompute(merging.average([merged]), (x[24:], y[24:]))
    for k, v in repaired.state_dict().items():
        if "running" in k:
            assert torch.allclose(merged.state_dict()[k], v, atol=1e-5), k
    assert merging.evaluate(merged, (x[:24], y[:24]))["accuracy"] == pytest.approx(hist.best_fitness)
