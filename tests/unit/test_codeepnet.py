"""Co-DeepNet pair: detached partner features, turn-taking without gradient leaks, transfer modes, training,
baselines and the fitness evaluation."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from coterie.cooperative import (
    Chromosome,
    CoDeepNet,
    ConvGene,
    FitnessTask,
    GAConfig,
    GeneticSearch,
    NetGenes,
    ProcessPoolEvaluator,
    RayEvaluator,
    SearchFailedError,
    SearchSpace,
    TargetScaler,
    TrainConfig,
    default_chromosome,
    fit_pair,
    fit_single,
    fit_sklearn_baseline,
    forward_flops,
    larger_single_cnn,
    predict,
    regression_metrics,
    training,
)
from coterie.cooperative.baselines import count_parameters
from coterie.data.methylation import MethylationPreprocessor, simulate_methylation, split_samples

L = 24


def _small_chromosome(rate: int = 5, lr: float = 3e-3) -> Chromosome:
    a = NetGenes((ConvGene(4, 3, "max"), ConvGene(8, 3, "max")), (16,), "flatten")
    b = NetGenes((ConvGene(4, 5, "avg"),), (8, 8), "gap")
    return Chromosome((a, b), rate, lr)


@pytest.fixture(scope="module")
def cohort() -> dict[str, np.ndarray]:
    d = simulate_methylation(240, 300, 40, seed=0)
    tr, va, te = split_samples(d.ages.to_numpy(), seed=0)
    pre = MethylationPreprocessor(n_cpgs=L).fit(d.betas.iloc[tr], d.ages.iloc[tr])
    out = {k: pre.transform(d.betas.iloc[i]) for k, i in (("x_tr", tr), ("x_va", va), ("x_te", te))}
    out.update({k: d.ages.to_numpy()[i] for k, i in (("a_tr", tr), ("a_va", va), ("a_te", te))})
    return out


def _pair(transfer: str = "features", **kw: object) -> CoDeepNet:
    torch.manual_seed(0)
    return CoDeepNet(_small_chromosome(), L, transfer=transfer, **kw)  # type: ignore[arg-type]


def test_shapes_and_partner_dims() -> None:
    m = _pair()
    x = torch.rand(5, L)
    assert m(x).shape == (5, 1) and m.forward_members(x).shape == (2, 5, 1)
    assert m(x.unsqueeze(1)).shape == (5, 1)
    # net A receives B's gap features (8 channels); B receives A's flattened map (8 channels × 6 positions)
    assert m.nets[0].partner_dim == 4 and m.nets[1].partner_dim == 8 * 6
    assert m.nets[0].fc.fc1.in_features == 8 * 6 + 4
    none = _pair("none")
    assert none.nets[0].partner_dim == 0 and none.nets[1].partner_dim == 0
    assert sum(none.num_parameters()) < sum(m.num_parameters())


@pytest.mark.parametrize("transfer", ["features", "features+distill", "distill", "none"])
@pytest.mark.parametrize("active", [0, 1])
def test_inactive_network_receives_no_gradient(transfer: str, active: int) -> None:
    m = _pair(transfer)
    x, y = torch.rand(6, L), torch.randn(6, 1)
    out, partner = m.active_outputs(x, active, partner_prediction=m.distills)
    loss = (out - y).abs().mean() + (0.0 if partner is None else (out - partner).abs().mean())
    loss.backward()
    assert all(p.grad is None for p in m.nets[1 - active].parameters())
    assert all(p.grad is not None for p in m.nets[active].parameters())
    if partner is not None:
        assert not partner.requires_grad


def test_forward_members_detaches_partner_features() -> None:
    m = _pair()
    out = m.forward_members(torch.rand(4, L))
    out[0].sum().backward()  # member A's output: only A's parameters get gradient (B's are None or, via stack, 0)
    assert all(p.grad is None or not p.grad.any() for p in m.nets[1].parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in m.nets[0].parameters())


@pytest.mark.parametrize("transfer", ["features", "features+distill"])
def test_inactive_network_unchanged_during_active_period(cohort: dict[str, np.ndarray], transfer: str) -> None:
    m = _pair(transfer)
    scaler = TargetScaler().fit(cohort["a_tr"])
    n_iter = -(-len(cohort["x_tr"]) // 16)  # batches per epoch
    cfg = TrainConfig(epochs=1, batch_size=16, transmission_rate=n_iter + 1, patience=None, restore_best=False)
    before = [p.detach().clone() for p in m.nets[1].parameters()]
    before_active = [p.detach().clone() for p in m.nets[0].parameters()]
    res = fit_pair(m, cohort["x_tr"], scaler.encode(cohort["a_tr"]), cohort["x_va"], cohort["a_va"], scaler, cfg)
    assert res.swaps == 0 and int(m.active) == 0
    assert all(torch.equal(a, b) for a, b in zip(before, m.nets[1].parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(before_active, m.nets[0].parameters()))


def test_roles_swap_at_transmission_rate(cohort: dict[str, np.ndarray]) -> None:
    scaler = TargetScaler().fit(cohort["a_tr"])
    n_iter = -(-len(cohort["x_tr"]) // 16)
    y = scaler.encode(cohort["a_tr"])
    m = _pair()
    res = fit_pair(
        m,
        cohort["x_tr"],
        y,
        cohort["x_va"],
        cohort["a_va"],
        scaler,
        TrainConfig(epochs=2, batch_size=16, transmission_rate=3, patience=None),
    )
    assert res.swaps == (2 * n_iter) // 3
    m = _pair(prediction="last_active")
    res = fit_pair(
        m,
        cohort["x_tr"],
        y,
        cohort["x_va"],
        cohort["a_va"],
        scaler,
        TrainConfig(
            epochs=3, batch_size=16, transmission_rate=1, transmission_unit="epochs", patience=None, restore_best=False
        ),
    )
    assert res.swaps == 3 and [h["active"] for h in res.history] == [0, 1, 0]
    x = torch.as_tensor(cohort["x_va"][:4])
    assert torch.equal(m(x), m.forward_members(x)[0])


def test_pair_learns_age(cohort: dict[str, np.ndarray]) -> None:
    scaler = TargetScaler("horvath").fit(cohort["a_tr"])
    torch.manual_seed(0)
    m = CoDeepNet(_small_chromosome(rate=5, lr=5e-3), L, mean=cohort["x_tr"].mean(0), std=cohort["x_tr"].std(0))
    res = fit_pair(
        m,
        cohort["x_tr"],
        scaler.encode(cohort["a_tr"]),
        cohort["x_va"],
        cohort["a_va"],
        scaler,
        TrainConfig(epochs=15, batch_size=16),
    )
    baseline = np.mean(np.abs(cohort["a_va"] - cohort["a_tr"].mean()))
    assert res.best_val_mae < 0.5 * baseline
    test = regression_metrics(cohort["a_te"], scaler.decode(predict(m, cohort["x_te"])))
    assert test["r2"] > 0.5
    assert res.history[res.best_epoch]["val_mae"] == pytest.approx(res.best_val_mae)
    # restore_best: the model now scores the best validation MAE
    assert np.mean(np.abs(scaler.decode(predict(m, cohort["x_va"])) - cohort["a_va"])) == pytest.approx(
        res.best_val_mae, rel=1e-5
    )


def test_single_cnn_larger_and_trains(cohort: dict[str, np.ndarray]) -> None:
    pair = CoDeepNet(default_chromosome(), L)
    n_pair = sum(pair.num_parameters())
    single = larger_single_cnn(default_chromosome(), L, n_pair, 1.5)
    assert count_parameters(single) >= 1.5 * n_pair
    assert forward_flops(single, L) > 0 and forward_flops(pair, L) > 0
    scaler = TargetScaler().fit(cohort["a_tr"])
    res = fit_single(
        single,
        cohort["x_tr"],
        scaler.encode(cohort["a_tr"]),
        cohort["x_va"],
        cohort["a_va"],
        scaler,
        TrainConfig(epochs=2, learning_rate=1e-3),
    )
    assert np.isfinite(res.best_val_mae) and res.epochs_run == 2


def test_target_scaler_round_trip() -> None:
    ages = np.array([0.5, 3.0, 20.0, 45.0, 99.0])
    for t in ("none", "horvath"):
        s = TargetScaler(t).fit(ages)  # type: ignore[arg-type]
        z = s.encode(ages)
        assert abs(z.mean()) < 1e-5 and np.allclose(s.decode(z), ages, atol=1e-4)


def test_regression_metrics_values() -> None:
    m = regression_metrics(np.array([1.0, 2.0, 3.0, 4.0]), np.array([2.0, 2.0, 3.0, 2.0]))
    assert m["mae"] == pytest.approx(0.75) and m["rmse"] == pytest.approx(np.sqrt(5 / 4))
    assert m["r2"] == pytest.approx(1 - 5 / 5) and m["median_ae"] == pytest.approx(0.5)


@pytest.mark.parametrize("name", ["svr", "elastic_net"])
def test_sklearn_baselines(cohort: dict[str, np.ndarray], name: str) -> None:
    scaler = TargetScaler("horvath").fit(cohort["a_tr"])
    r = fit_sklearn_baseline(
        name,
        cohort["x_tr"],
        scaler.encode(cohort["a_tr"]),
        cohort["x_va"],
        cohort["a_va"],
        cohort["x_te"],
        cohort["a_te"],
        scaler,
    )
    assert r.metrics["mae"] < np.mean(np.abs(cohort["a_te"] - cohort["a_tr"].mean()))
    assert r.n_parameters > 0 and r.test_pred.shape == cohort["a_te"].shape


def test_gbr_baseline_small(cohort: dict[str, np.ndarray]) -> None:
    scaler = TargetScaler().fit(cohort["a_tr"])
    r = fit_sklearn_baseline(
        "gbr",
        cohort["x_tr"],
        scaler.encode(cohort["a_tr"]),
        cohort["x_va"],
        cohort["a_va"],
        cohort["x_te"],
        cohort["a_te"],
        scaler,
        gbr_estimators=10,
    )
    assert np.isfinite(r.metrics["mae"]) and r.n_parameters > 10
    with pytest.raises(ValueError, match="unknown baseline"):
        fit_sklearn_baseline(
            "knn",
            cohort["x_tr"],
            cohort["a_tr"],
            cohort["x_va"],
            cohort["a_va"],
            cohort["x_te"],
            cohort["a_te"],
            scaler,
        )


def _task(cohort: dict[str, np.ndarray]) -> FitnessTask:
    scaler = TargetScaler().fit(cohort["a_tr"])
    return FitnessTask(
        cohort["x_tr"],
        scaler.encode(cohort["a_tr"]),
        cohort["x_va"],
        cohort["a_va"],
        scaler,
        cohort["x_tr"].mean(0),
        cohort["x_tr"].std(0),
        TrainConfig(epochs=1, patience=None),
        seed=3,
    )


def test_fitness_is_deterministic_per_chromosome(cohort: dict[str, np.ndarray]) -> None:
    task = _task(cohort)
    c = _small_chromosome()
    assert task(c) == task(c)
    assert np.isfinite(task(c))


@pytest.mark.slow
def test_process_pool_matches_serial(cohort: dict[str, np.ndarray]) -> None:
    task = _task(cohort)
    cs = [_small_chromosome(rate=r) for r in (1, 5, 10)]
    with ProcessPoolEvaluator(task, workers=2) as ev:
        parallel = ev(cs)
    assert parallel == pytest.approx([task(c) for c in cs], rel=1e-5)


@pytest.mark.slow
def test_ray_evaluator_matches_serial(cohort: dict[str, np.ndarray]) -> None:
    pytest.importorskip("ray")
    task = _task(cohort)
    cs = [_small_chromosome(rate=r) for r in (1, 5)]
    with RayEvaluator(task, workers=2) as ev:
        remote = ev(cs)
    assert remote == pytest.approx([task(c) for c in cs], rel=1e-5)


def _raise(error: Exception) -> Callable[..., Any]:
    return functools.partial(_raising, error)


def _raising(error: Exception, *args: Any, **kwargs: Any) -> Any:
    raise error


def test_a_training_error_is_unfit_and_kept(cohort: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training, "fit_pair", _raise(ValueError("width collapsed")))
    task = _task(cohort)
    assert task.val_mae(_small_chromosome()) == float("inf")
    assert task.failures == [f"{_small_chromosome().describe()}: ValueError: width collapsed"]


def test_out_of_memory_propagates_and_is_not_cached(
    cohort: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    # torch.OutOfMemoryError is a RuntimeError: it must not pass for a pathological architecture (fitness inf)
    monkeypatch.setattr(training, "fit_pair", _raise(torch.OutOfMemoryError("CUDA out of memory")))
    task = _task(cohort)
    with pytest.raises(torch.OutOfMemoryError):
        task(_small_chromosome())
    ga = GeneticSearch(SearchSpace(input_length=L), task, GAConfig(population_size=2, generations=0))
    with pytest.raises(torch.OutOfMemoryError):
        ga.run()
    assert ga.cache == {} and task.failures == []


def test_a_search_where_every_architecture_fails_raises(
    cohort: dict[str, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(training, "fit_pair", _raise(RuntimeError("shape mismatch")))
    task = _task(cohort)
    ga = GeneticSearch(
        SearchSpace(input_length=L), task, GAConfig(population_size=3, generations=1), initial=[_small_chromosome()]
    )
    with pytest.raises(SearchFailedError, match=r"every one of the \d+ architectures") as info:
        ga.run()
    n = len(ga.cache)
    assert n >= 3 and all(v == float("inf") for v in ga.cache.values())
    assert f"every one of the {n} architectures" in str(info.value)
    assert f"first failure: {ga.initial[0].describe()}: RuntimeError: shape mismatch" in str(info.value)
