"""Issue 22 points 5-6: independent networks averaged, seed-averaged fitness with a cost term, the Pareto front."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from coterie.cooperative import CoDeepNet, TargetScaler, TrainConfig
from coterie.cooperative.chromosome import Chromosome, ConvGene, NetGenes
from coterie.cooperative.genetic import FitnessTask
from coterie.cooperative.pareto import cost_term, pair_cost, pareto_front
from coterie.cooperative.training import fit_independent
from coterie.training.batch_order import epoch_order

L = 16


def _chromosome() -> Chromosome:
    a = NetGenes((ConvGene(4, 3, "max"),), (8,), "flatten")
    b = NetGenes((ConvGene(4, 3, "avg"),), (8,), "gap")
    return Chromosome((a, b), 3, 3e-3)


def _data(n: int = 70, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    x = g.random((n, L)).astype(np.float32)
    return x, (x[:, :4].sum(1) * 10 + g.normal(0, 0.5, n)).astype(np.float32)


def test_independent_training_equals_two_separate_adam_loops() -> None:
    x, y = _data()
    scaler = TargetScaler().fit(y)
    z = scaler.encode(y)
    cfg = TrainConfig(epochs=2, batch_size=16, patience=None, restore_best=False)
    torch.manual_seed(0)
    ours = CoDeepNet(_chromosome(), L, transfer="none")
    ref = CoDeepNet(_chromosome(), L, transfer="none")
    ref.load_state_dict(ours.state_dict())
    fit_independent(ours, x, z, x[:20], y[:20], scaler, cfg, seed=5)
    xt, yt = torch.as_tensor(x), torch.as_tensor(z).reshape(-1, 1)
    for i in (0, 1):  # each network alone, its own Adam, the Trainer's batch order
        net, opt = ref.nets[i], torch.optim.Adam(ref.nets[i].parameters(), lr=3e-3, weight_decay=cfg.weight_decay)
        for epoch in range(cfg.epochs):
            for idx in epoch_order(len(xt), 5, epoch, "shared", False, 1).split(cfg.batch_size):
                h = net.features(ref._prepare(xt[idx]))
                loss = nn.functional.l1_loss(net.head(h), yt[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
    for p, q in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    out = ours(torch.as_tensor(x[:5]))
    torch.testing.assert_close(out, ours.forward_members(torch.as_tensor(x[:5])).mean(0))


def test_independent_training_refuses_a_pair_that_shares() -> None:
    x, y = _data()
    scaler = TargetScaler().fit(y)
    with pytest.raises(ValueError, match="transfer 'none'"):
        fit_independent(
            CoDeepNet(_chromosome(), L, transfer="features"),
            x,
            scaler.encode(y),
            x[:20],
            y[:20],
            scaler,
            TrainConfig(epochs=1, patience=None),
        )


def _task(**kw: object) -> FitnessTask:
    x, y = _data()
    scaler = TargetScaler().fit(y[:50])
    return FitnessTask(
        x[:50],
        scaler.encode(y[:50]),
        x[50:],
        y[50:],
        scaler,
        x[:50].mean(0),
        x[:50].std(0),
        TrainConfig(epochs=1, batch_size=16, patience=None),
        seed=3,
        **kw,
    )  # type: ignore[arg-type]


def test_fitness_is_the_mean_over_seeds_plus_the_cost_term() -> None:
    c = _chromosome()
    one, two = _task(n_seeds=1), _task(n_seeds=2)
    m0, m1 = one.val_mae(c, 0), one.val_mae(c, 1)
    assert m0 != m1  # different training seeds
    assert one(c) == m0
    assert two(c) == pytest.approx((m0 + m1) / 2)
    n_params = sum(p.numel() for p in CoDeepNet(c, L).parameters())
    costly = _task(n_seeds=2, cost="parameters", cost_weight=0.5)
    assert costly(c) == pytest.approx((m0 + m1) / 2 + 0.5 * n_params / 1000)


def test_cost_units_and_pair_cost() -> None:
    params, flops = pair_cost(_chromosome(), L)
    assert params == sum(p.numel() for p in CoDeepNet(_chromosome(), L).parameters())
    assert flops > 0
    assert cost_term("parameters", 2500, 0) == 2.5
    assert cost_term("flops", 0, 3_000_000) == 3.0
    assert cost_term("none", 10, 10) == 0.0
    with pytest.raises(ValueError, match="unknown cost"):
        cost_term("watts", 1, 1)


def test_pareto_front_by_hand() -> None:
    pts = [
        {"parameters": 100, "val_mae": 5.0},
        {"parameters": 200, "val_mae": 4.0},
        {"parameters": 150, "val_mae": 6.0},
        {"parameters": 300, "val_mae": 4.0},
        {"parameters": 50, "val_mae": 7.0},
    ]
    # 150/6.0 is beaten by 100/5.0; 300/4.0 by 200/4.0
    assert pareto_front(pts) == [4, 0, 1]


def test_single_fitness_trains_the_widened_single_cnn_with_the_chromosome_learning_rate() -> None:
    from dataclasses import replace

    from coterie.cooperative.baselines import SingleCNN, larger_single_cnn
    from coterie.cooperative.training import fit_single

    c = _chromosome()
    task = _task(model="single")
    net = task.build(c)
    pair_params = sum(CoDeepNet(c, L).num_parameters())
    assert isinstance(net, SingleCNN) and sum(p.numel() for p in net.parameters()) >= 1.5 * pair_params
    s = (3 * 1_000_003 + int(c.key(), 16)) % (2**31)
    torch.manual_seed(s)
    ref = larger_single_cnn(c, L, pair_params, 1.5, 0.0, task.mean, task.std)
    res = fit_single(
        ref,
        task.x_train,
        task.y_train,
        task.x_val,
        task.ages_val,
        task.scaler,
        replace(task.train, learning_rate=c.learning_rate),
        seed=s,
    )
    assert task.val_mae(c, 0) == res.best_val_mae
    with pytest.raises(ValueError, match="unknown fitness model"):
        _task(model="triple").build(c)
