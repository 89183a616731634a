"""Meta-learning (seed 004 Algorithm 1): the exact unrolled meta-gradient and the first-order variant."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coterie.neurons import (
    DiverseMLP,
    LearnedSpec,
    MetaConfig,
    meta_learn,
    split_parameters,
    unrolled_meta_gradient,
)


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _tiny_problem(seed: int = 0):
    torch.manual_seed(seed)
    model = DiverseMLP(3, 2, (6,), LearnedSpec(num_types=2, base="sin", hidden=4)).double()
    for name, p in model.named_parameters():
        if "fc_out" in name:  # leave the zero start so that θ_s matters to first order
            nn.init.normal_(p, std=0.3)
    x = torch.randn(5, 16, 3, dtype=torch.float64)
    y = torch.randn(5, 16, 2, dtype=torch.float64)
    batches = [(x[i], y[i]) for i in range(5)]
    return model, batches


def _meta_loss(model, batches, theta_s, lr, truncation=None):
    theta, _ = split_parameters(model)
    loss, grads, _ = unrolled_meta_gradient(
        model, dict(theta), theta_s, batches, nn.functional.mse_loss, lr, truncation
    )
    return loss, grads


def test_exact_meta_gradient_matches_finite_differences() -> None:
    model, batches = _tiny_problem()
    _, theta_s = split_parameters(model)
    lr = 0.3
    _, grads = _meta_loss(model, batches, theta_s, lr)
    g = torch.Generator().manual_seed(1)
    for _ in range(3):
        direction = {k: torch.randn(v.shape, generator=g, dtype=v.dtype) for k, v in theta_s.items()}
        eps = 1e-5
        plus = {k: (v + eps * direction[k]).detach().requires_grad_(True) for k, v in theta_s.items()}
        minus = {k: (v - eps * direction[k]).detach().requires_grad_(True) for k, v in theta_s.items()}
        lp, _ = _meta_loss(model, batches, plus, lr)
        lm, _ = _meta_loss(model, batches, minus, lr)
        fd = (lp - lm) / (2 * eps)
        analytic = sum(float((grads[k] * direction[k]).sum()) for k in theta_s)
        assert abs(fd - analytic) <= 1e-6 + 1e-5 * abs(fd), (fd, analytic)


def test_first_order_gradient_differs_from_exact_but_truncation_to_full_length_does_not() -> None:
    model, batches = _tiny_problem(2)
    _, theta_s = split_parameters(model)
    _, exact = _meta_loss(model, batches, theta_s, 0.3)
    _, full = _meta_loss(model, batches, theta_s, 0.3, truncation=len(batches))
    _, trunc1 = _meta_loss(model, batches, theta_s, 0.3, truncation=1)  # no path through θ: first order
    for k in exact:
        torch.testing.assert_close(exact[k], full[k])
    assert max(float((exact[k] - trunc1[k]).abs().max()) for k in exact) > 1e-8


@pytest.mark.parametrize("method", ["exact", "first_order"])
def test_meta_learning_lowers_inner_loss_and_moves_only_what_it_should(method: str) -> None:
    torch.manual_seed(0)
    x = torch.randn(256, 4)
    y = (x[:, :1] * x[:, 1:2]).sin() + x[:, 2:3].abs()
    model = DiverseMLP(4, 1, (16,), LearnedSpec(2, "sin", 8))
    theta, theta_s = split_parameters(model)
    before_s = {k: v.detach().clone() for k, v in theta_s.items()}
    before = {k: v.detach().clone() for k, v in theta.items()}
    cfg = MetaConfig(method=method, outer_steps=15, inner_steps=5, inner_lr=0.05, outer_lr=1e-2, batch_size=64)
    res = meta_learn(model, x, y, nn.functional.mse_loss, cfg, snapshot_every=5)
    assert len(res.history) == 15
    assert res.history[-1]["inner_loss"] < res.history[0]["inner_loss"]
    assert any(not torch.equal(before_s[k], v) for k, v in theta_s.items())  # activations evolved
    assert any(not torch.equal(before[k], v) for k, v in theta.items())  # the network trained
    assert [s for s, _ in res.snapshots] == [0, 5, 10, 15]
    assert all(p.grad is None for p in theta.values())


def test_reinit_inner_restarts_the_network_each_outer_step() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    model = DiverseMLP(3, 1, (8,), LearnedSpec(2, "sin", 4))
    cfg = MetaConfig(method="exact", outer_steps=3, inner_steps=2, reinit_inner=True, batch_size=32)
    res = meta_learn(model, x, y, nn.functional.mse_loss, cfg)
    # a network restarted from scratch each time: the inner loss does not ratchet down like a continued one
    assert len(res.history) == 3 and all(h["inner_loss"] > 0 for h in res.history)


def test_meta_learn_rejects_models_without_learned_activations_and_divergence() -> None:
    with pytest.raises(ValueError, match="nothing to meta-learn"):
        meta_learn(
            DiverseMLP(3, 1, (4,), "relu"),
            torch.randn(8, 3),
            torch.randn(8, 1),
            nn.functional.mse_loss,
            MetaConfig(outer_steps=1, inner_steps=1, batch_size=8),
        )
    model = DiverseMLP(3, 1, (4,), LearnedSpec(2, "sin", 4))
    with pytest.raises(FloatingPointError, match="inner_lr"):
        meta_learn(
            model,
            torch.randn(16, 3) * 1e3,
            torch.randn(16, 1) * 1e6,
            nn.functional.mse_loss,
            MetaConfig(outer_steps=3, inner_steps=5, inner_lr=1e3, batch_size=8),
        )
