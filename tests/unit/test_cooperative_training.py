"""Co-DeepNet training through the Trainer equals the turn-taking loop written out (two Adams, literal turns)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from coterie.cooperative import CoDeepNet, TargetScaler, TrainConfig, fit_pair, fit_single
from coterie.cooperative.chromosome import Chromosome, ConvGene, NetGenes
from coterie.training.batch_order import epoch_order

L = 16


def _pair(transfer: str) -> CoDeepNet:
    torch.manual_seed(0)
    a = NetGenes((ConvGene(4, 3, "max"),), (8,), "flatten")
    b = NetGenes((ConvGene(4, 3, "avg"),), (8,), "gap")
    return CoDeepNet(Chromosome((a, b), 3, 3e-3), L, transfer=transfer)  # type: ignore[arg-type]


def _data(n: int = 70, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    g = np.random.default_rng(seed)
    x = g.random((n, L)).astype(np.float32)
    return x, (x[:, :4].sum(1) * 10 + g.normal(0, 0.5, n)).astype(np.float32)


def _reference(model: CoDeepNet, x: np.ndarray, y: np.ndarray, cfg: TrainConfig, rate: int, seed: int) -> list[float]:
    """The turn-taking loop written out: one Adam per network, a turn counter, distillation after the partner's turn."""
    opts = [torch.optim.Adam(n.parameters(), lr=3e-3, weight_decay=cfg.weight_decay) for n in model.nets]
    xt, yt = torch.as_tensor(x), torch.as_tensor(y).reshape(-1, 1)
    active, in_turn, had_turn, losses = 0, 0, [True, False], []
    for epoch in range(cfg.epochs):
        model.train()
        for idx in epoch_order(len(xt), seed, epoch, "shared", False, 1).split(cfg.batch_size):
            model.nets[active].train()
            model.nets[1 - active].eval()
            distill = model.distills and had_turn[1 - active]
            out, partner = model.active_outputs(xt[idx], active, partner_prediction=distill)
            loss = nn.functional.l1_loss(out, yt[idx])
            if distill and partner is not None:
                loss = 0.5 * loss + 0.5 * nn.functional.l1_loss(out, partner)
            opts[active].zero_grad(set_to_none=True)
            loss.backward()
            opts[active].step()
            losses.append(float(loss.detach()))
            in_turn += 1
            if in_turn >= rate:
                active, in_turn = 1 - active, 0
                had_turn[active] = True
    return losses


@pytest.mark.parametrize("transfer", ["features", "features+distill"])
def test_fit_pair_through_the_trainer_equals_the_turn_taking_loop(transfer: str) -> None:
    x, y = _data()
    scaler = TargetScaler().fit(y)
    cfg = TrainConfig(epochs=3, batch_size=16, transmission_rate=4, patience=None, restore_best=False)
    ours, ref = _pair(transfer), _pair(transfer)
    res = fit_pair(ours, x, scaler.encode(y), x[:20], y[:20], scaler, cfg, seed=5)
    _reference(ref, x, scaler.encode(y), cfg, 4, seed=5)
    for p, q in zip(ours.parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, rtol=1e-5, atol=1e-6)
    n_iter = 3 * -(-len(x) // 16)
    assert res.swaps == n_iter // 4 and res.epochs_run == 3 and len(res.history) == 3
    assert int(ours.active) == ((n_iter - 1) // 4) % 2


def test_fit_single_stops_on_patience_and_restores_the_best_epoch() -> None:
    x, y = _data(120)
    scaler = TargetScaler().fit(y)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(L, 16), nn.Tanh(), nn.Linear(16, 1))
    # a learning rate so high that validation soon stops improving
    cfg = TrainConfig(epochs=60, batch_size=16, learning_rate=0.5, patience=3, restore_best=True)
    seen: list[dict[str, float]] = []
    res = fit_single(net, x[:80], scaler.encode(y[:80]), x[80:], y[80:], scaler, cfg, log_fn=seen.append)
    assert res.epochs_run < 60 and res.epochs_run - 1 - res.best_epoch == 3
    assert [r["val_mae"] for r in seen] == [r["val_mae"] for r in res.history]
    assert res.best_val_mae == min(r["val_mae"] for r in res.history)
    pred = scaler.decode(net(torch.as_tensor(x[80:])).detach().reshape(-1).numpy())
    assert float(np.mean(np.abs(pred - y[80:]))) == pytest.approx(res.best_val_mae, rel=1e-5)
    assert not net.training  # the trained model is left in evaluation mode
