"""Meta-learning (seed 004 Algorithm 1): the exact unrolled meta-gradient and the first-order variant."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from coterie.models import DiverseMLP
from coterie.neurons import (
    LearnedSpec,
    MetaConfig,
    meta_learn,
    split_parameters,
    unrolled_meta_gradient,
)


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
    # carry-over of θ with SGD (the options, not the defaults): the inner loss then falls as the network keeps training
    cfg = MetaConfig(
        method=method,
        outer_steps=15,
        inner_steps=5,
        inner_lr=0.05,
        outer_lr=1e-2,
        batch_size=64,
        reinit_inner=False,
        inner_optimizer="sgd",
    )
    res = meta_learn(model, x, y, nn.functional.mse_loss, cfg, snapshot_every=5)
    assert len(res.history) == 15
    assert res.history[-1]["inner_loss"] < res.history[0]["inner_loss"]
    assert any(not torch.equal(before_s[k], v) for k, v in theta_s.items())  # activations evolved
    assert any(not torch.equal(before[k], v) for k, v in theta.items())  # the network trained
    assert [s for s, _ in res.snapshots] == [0, 5, 10, 15]
    assert all(p.grad is None for p in theta.values())


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
            MetaConfig(outer_steps=3, inner_steps=5, inner_lr=1e3, batch_size=8, inner_optimizer="sgd"),
        )


def _capture_theta(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, torch.Tensor]]:
    """θ handed to the inner loop at the start of each outer step (exact method), recorded literally."""
    import coterie.neurons.meta as meta_mod

    seen: list[dict[str, torch.Tensor]] = []
    real = meta_mod.unrolled_meta_gradient

    def spy(model, theta, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append({k: v.detach().clone() for k, v in theta.items()})
        return real(model, theta, *args, **kwargs)

    monkeypatch.setattr(meta_mod, "unrolled_meta_gradient", spy)
    return seen


def test_reinit_mode_starts_every_outer_step_from_a_fresh_init(monkeypatch: pytest.MonkeyPatch) -> None:
    from coterie.neurons import reinit_seed

    seen = _capture_theta(monkeypatch)
    torch.manual_seed(0)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    model = DiverseMLP(3, 1, (8,), LearnedSpec(2, "sin", 4))
    cfg = MetaConfig(outer_steps=3, inner_steps=2, batch_size=32)
    assert cfg.reinit_inner and cfg.inner_optimizer == "adam"  # Algorithm 1 and the arms' optimiser by default
    state = torch.random.get_rng_state()
    meta_learn(model, x, y, nn.functional.mse_loss, cfg, seed=5)
    assert torch.equal(torch.random.get_rng_state(), state)  # re-initialisation leaves the global RNG alone
    assert len(seen) == 3
    for k, theta in enumerate(seen, start=1):
        # a fresh init, written out: every Linear outside the learned activations reset under its own seed
        torch.manual_seed(reinit_seed(5, k))
        for name, m in model.named_modules():
            if isinstance(m, nn.Linear) and ".types." not in name and "fc_in" not in name and "fc_out" not in name:
                m.reset_parameters()
        expect, _ = split_parameters(model)
        assert set(theta) == set(expect)
        for name, v in theta.items():
            torch.testing.assert_close(v, expect[name].detach(), rtol=0, atol=0)
    assert not torch.equal(seen[0]["body.fc1.weight"], seen[1]["body.fc1.weight"])


def test_carry_over_mode_continues_from_the_previous_outer_step(monkeypatch: pytest.MonkeyPatch) -> None:
    import coterie.neurons.meta as meta_mod

    seen = _capture_theta(monkeypatch)
    ends: list[dict[str, torch.Tensor]] = []
    real = meta_mod._exact

    def end_spy(model, theta, *args, **kwargs):  # type: ignore[no-untyped-def]
        out = real(model, theta, *args, **kwargs)
        ends.append({k: v.detach().clone() for k, v in theta.items()})
        return out

    monkeypatch.setattr(meta_mod, "_exact", end_spy)
    torch.manual_seed(0)
    x, y = torch.randn(64, 3), torch.randn(64, 1)
    model = DiverseMLP(3, 1, (8,), LearnedSpec(2, "sin", 4))
    theta0, _ = split_parameters(model)
    start = {k: v.detach().clone() for k, v in theta0.items()}
    meta_learn(
        model, x, y, nn.functional.mse_loss, MetaConfig(outer_steps=3, inner_steps=2, batch_size=32, reinit_inner=False)
    )
    for k in start:
        torch.testing.assert_close(seen[0][k], start[k], rtol=0, atol=0)  # the model's own initial θ
        for step in (1, 2):
            torch.testing.assert_close(seen[step][k], ends[step - 1][k], rtol=0, atol=0)


def test_unrolled_adam_follows_torch_adam_and_its_meta_gradient_matches_finite_differences() -> None:
    from coterie.neurons.inner_optim import InnerOptimizer

    model, batches = _tiny_problem(3)
    theta, theta_s = split_parameters(model)
    inner = InnerOptimizer("adam", 0.05)
    _, grads, final = unrolled_meta_gradient(
        model, dict(theta), theta_s, batches, nn.functional.mse_loss, 0.05, None, inner
    )
    # reference: torch.optim.Adam on a copy, step by step
    import copy

    ref = copy.deepcopy(model)
    ref_theta, _ = split_parameters(ref)
    opt = torch.optim.Adam(list(ref_theta.values()), lr=0.05)
    for xb, yb in batches:
        opt.zero_grad()
        nn.functional.mse_loss(ref(xb), yb).backward()
        opt.step()
    for k, p in ref_theta.items():
        torch.testing.assert_close(final[k], p.detach(), rtol=1e-10, atol=1e-12)
    g = torch.Generator().manual_seed(4)
    direction = {k: torch.randn(v.shape, generator=g, dtype=v.dtype) for k, v in theta_s.items()}
    eps = 1e-6

    def loss_at(sign: float) -> float:
        shifted = {k: (v + sign * eps * direction[k]).detach().requires_grad_(True) for k, v in theta_s.items()}
        return unrolled_meta_gradient(model, dict(theta), shifted, batches, nn.functional.mse_loss, 0.05, None, inner)[
            0
        ]

    fd = (loss_at(1.0) - loss_at(-1.0)) / (2 * eps)
    analytic = sum(float((grads[k] * direction[k]).sum()) for k in theta_s)
    assert abs(fd - analytic) <= 1e-6 + 1e-4 * abs(fd), (fd, analytic)


def test_meta_learn_records_the_validation_curve_and_stops_on_its_plateau() -> None:
    torch.manual_seed(0)
    x, y = torch.randn(96, 3), torch.randn(96, 1)  # noise targets: validation cannot keep improving
    model = DiverseMLP(3, 1, (8,), LearnedSpec(2, "sin", 4))
    cfg = MetaConfig(method="first_order", outer_steps=200, inner_steps=2, batch_size=32, patience=3, min_delta=1e-3)
    res = meta_learn(model, x[:64], y[:64], nn.functional.mse_loss, cfg, val=(x[64:], y[64:]))
    vals = [h["val_loss"] for h in res.history]
    assert res.stopped == "plateau" and len(vals) < 200
    best = min(vals[: res.best_step])
    assert vals[res.best_step - 1] == best
    assert all(v >= best - 1e-3 for v in vals[res.best_step :]) and len(vals) - res.best_step == 3
    assert res.snapshots[-1][0] == len(vals)
