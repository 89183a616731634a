"""PARL (seed 002 eq. 1) against a slow per-sample reference, the equation's value and gradient, and its cost."""

from __future__ import annotations

import pytest
import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

import coterie
from coterie.models import capture_features
from coterie.objectives import parl as parl_mod
from coterie.objectives.common import capture_names
from coterie.objectives.parl import PARL, hidden_layers, pairwise_similarity, resolve_layers


def cnn_ensemble(n: int = 3, seed: int = 0) -> coterie.Ensemble:
    return coterie.Ensemble.from_factory("cnn1d", n, seed=seed, channels=(4, 6, 8), hidden=12, input_length=16)


def slow_similarity(ensemble: coterie.Ensemble, x: torch.Tensor, layers: list[str]) -> torch.Tensor:
    """Seed 002 §4.2 literally: per sample, per member, per layer ∇_x Σ_f F(x)_f; cosines summed over layers."""
    members = list(ensemble.members)
    n, b = len(members), x.shape[0]
    s = torch.zeros(n, n, dtype=torch.float64)
    for t in range(b):
        grads = []  # grads[i][k]: (D,)
        for m in members:
            per_layer = []
            for name in layers:
                xt = x[t : t + 1].clone().requires_grad_(True)
                _, f = capture_features(m, xt, [name])
                (g,) = torch.autograd.grad(f[name].sum(), xt)
                per_layer.append(g.flatten().double())
            grads.append(per_layer)
        for i in range(n):
            for j in range(n):
                s[i, j] += sum(
                    F.cosine_similarity(grads[i][k], grads[j][k], dim=0, eps=1e-12) for k in range(len(layers))
                )
    return s / b


@pytest.mark.parametrize("features", ["activation", "preactivation"])
@pytest.mark.parametrize("model", ["cnn1d", "mlp", "resnet20"])
def test_pairwise_similarity_equals_slow_per_sample_reference(model: str, features: str) -> None:
    if model == "cnn1d":
        ens, x = cnn_ensemble(), torch.rand(5, 16)
    elif model == "mlp":
        ens = coterie.Ensemble.from_factory("mlp", 3, seed=1, in_features=10, hidden=(8, 8, 8), num_classes=4)
        x = torch.rand(5, 10)
    else:  # BatchNorm in eval mode: exact per-sample quantity
        ens = coterie.Ensemble.from_factory("resnet20", 2, seed=2, in_channels=1, width=2, blocks=1)
        ens.eval()
        x = torch.rand(4, 1, 8, 8)
    m0 = ens.members[0]
    layers = capture_names(m0, resolve_layers(m0, 3, features), features)  # type: ignore[arg-type]
    fast = pairwise_similarity(ens, x, 3, features)  # type: ignore[arg-type]
    assert fast.shape == (len(ens), len(ens))
    assert torch.allclose(fast.double(), slow_similarity(ens, x, layers), atol=1e-5)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), k=st.integers(1, 4), n=st.integers(2, 4))
@example(seed=948, k=2, n=2)  # one sample's second layer is dead: its diagonal is 11/6, not 2
def test_similarity_matrix_invariants(seed: int, k: int, n: int) -> None:
    ens = cnn_ensemble(n, seed)
    x = torch.rand(6, 16, generator=torch.Generator().manual_seed(seed))
    s = pairwise_similarity(ens, x, k)
    assert torch.allclose(s, s.T, atol=1e-6)
    # cos(g, g) = 1 for every (sample, layer) whose input gradient is nonzero; a dead layer (all ReLUs off for that
    # sample, gradient exactly 0) contributes cos = 0, so the diagonal counts the live (sample, layer) pairs.
    for i, member in enumerate(ens.members):
        live = 0
        for name in capture_names(member, resolve_layers(member, k, "activation"), "activation"):
            xi = x.clone().requires_grad_(True)
            _, f = capture_features(member, xi, [name])
            (g,) = torch.autograd.grad(f[name].sum(), xi)
            live += int((g.flatten(1).abs().amax(1) > 0).sum())
        assert float(s[i, i]) == pytest.approx(live / x.shape[0], abs=1e-5)
    assert float(s.abs().max()) <= k + 1e-5


def test_parl_value_is_equation_one() -> None:
    ens = cnn_ensemble()
    x, y = torch.rand(8, 16), torch.randint(0, 10, (8,))
    out = PARL(gamma1=1.0, gamma2=0.5, layers=3)(ens, x, y)
    s = pairwise_similarity(ens, x, 3)
    ce = torch.stack([F.cross_entropy(m(x), y) for m in ens.members])
    expected = ce.sum() + 0.5 * (s.sum() - s.diagonal().sum()) / 2
    assert torch.allclose(out.losses.sum(), expected, atol=1e-5)
    assert torch.allclose(out.terms["penalty"], (s.sum() - s.diagonal().sum()) / 2, atol=1e-5)


def _full_parl(ens: coterie.Ensemble, x: torch.Tensor, y: torch.Tensor, names: list[str]) -> torch.Tensor:
    """Eq. (1) with the whole graph live, computed member by member and pair by pair (independent of PARL)."""
    grads = []
    logits = []
    for m in ens.members:
        xi = x.clone().requires_grad_(True)
        out, f = capture_features(m, xi, names)
        logits.append(out)
        grads.append([torch.autograd.grad(f[n].sum(), xi, create_graph=True)[0].flatten(1) for n in names])
    loss = sum(F.cross_entropy(z, y) for z in logits)
    n = len(grads)
    for i in range(n):
        for j in range(i + 1, n):
            r = sum(F.cosine_similarity(grads[i][k], grads[j][k], dim=1, eps=1e-12).mean() for k in range(len(names)))
            loss = loss + 0.5 * r
    return loss


def test_member_shares_carry_the_exact_gradient() -> None:
    """Σ losses has eq. (1)'s gradient; member i's share alone has ∂PARL/∂θ_i (frozen partners do not matter)."""
    ens = cnn_ensemble()
    x, y = torch.rand(8, 16), torch.randint(0, 10, (8,))
    names = capture_names(ens.members[0], resolve_layers(ens.members[0], 3, "activation"), "activation")
    ref_grads = torch.autograd.grad(_full_parl(ens, x, y, names), list(ens.parameters()))
    out = PARL(layers=3)(ens, x, y)
    total_grads = torch.autograd.grad(out.losses.sum(), list(ens.parameters()), retain_graph=True)
    for a, b in zip(ref_grads, total_grads):
        assert torch.allclose(a, b, atol=1e-5)
    for i, m in enumerate(ens.members):
        own = torch.autograd.grad(out.losses[i], list(m.parameters()), retain_graph=True)
        ref_i = torch.autograd.grad(_full_parl(ens, x, y, names), list(m.parameters()))
        for a, b in zip(own, ref_i):
            assert torch.allclose(a, b, atol=1e-5)


def test_gradient_computations_are_per_layer_not_per_pair(monkeypatch: pytest.MonkeyPatch) -> None:
    """Input gradients are computed once per member and layer and reused for all pairs: K autograd calls, any N."""
    calls = []
    real = torch.autograd.grad

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(args[1]) if isinstance(args[1], (list, tuple)) else 1)
        return real(*args, **kwargs)

    monkeypatch.setattr(parl_mod.torch.autograd, "grad", counting)
    for n in (2, 5):
        calls.clear()
        PARL(layers=3)(cnn_ensemble(n), torch.rand(4, 16), torch.zeros(4, dtype=torch.long))
        assert calls == [n, n, n]  # 3 calls, each differentiating w.r.t. the N members' inputs


def test_layer_selection_and_bad_layers_fail_before_work() -> None:
    m = cnn_ensemble().members[0]
    assert hidden_layers(m) == ["conv1", "conv2", "conv3", "fc1"]  # head excluded
    assert resolve_layers(m, 2) == ["conv1", "conv2"]
    assert resolve_layers(m, ["conv2", "fc1"]) == ["conv2", "fc1"]
    with pytest.raises(ValueError, match="K=5 exceeds the model's 4 hidden"):
        resolve_layers(m, 5)
    with pytest.raises(KeyError, match="unknown layer name"):
        resolve_layers(m, ["conv9"])
    with pytest.raises(ValueError):
        PARL(layers=0)
    ens = cnn_ensemble()
    calls = []
    ens.members[0].register_forward_hook(lambda *a: calls.append(1))
    with pytest.raises(ValueError, match="exceeds"):
        PARL(layers=7)(ens, torch.rand(2, 16), torch.zeros(2, dtype=torch.long))
    with pytest.raises(KeyError, match="valid names"):
        PARL(layers=["nope"]).bind(ens)
    assert not calls  # no forward pass ran


def test_resnet20_first_seven_convolutions_are_the_first_stage() -> None:
    m = coterie.models.create("resnet20", in_channels=3, width=4)
    names = resolve_layers(m, 7)
    assert names[0] == "conv1" and all(n.startswith("layer1.") for n in names[1:])


def test_registered_and_exported() -> None:
    assert coterie.PARL is PARL
    assert isinstance(coterie.objectives.create("parl", layers=2), PARL)
    assert PARL(gamma1=1.0, gamma2=0.25, layers=2).config() == {
        "gamma1": 1.0,
        "gamma2": 0.25,
        "layers": 2,
        "features": "activation",
    }


def test_trainer_step_reduces_similarity() -> None:
    """A few PARL steps with a large γ2 lower the pairwise gradient similarity (the penalty trains)."""
    ens = cnn_ensemble()
    x, y = torch.rand(64, 16), torch.randint(0, 10, (64,))
    before = float(PARL(layers=3)(ens, x, y).terms["penalty"])
    coterie.Trainer(
        ens,
        PARL(gamma1=0.0, gamma2=1.0, layers=3),
        optimizer="adam",
        lr=1e-2,
        epochs=15,
        batch_size=64,
        progress=False,
        device="cpu",
    ).fit((x, y))
    after = float(PARL(layers=3)(ens, x, y).terms["penalty"])
    assert after < before - 0.2


def test_first_layer_activation_gradient_depends_on_the_input_raw_convolution_does_not() -> None:
    """The reason for the activation reading: ∇_x Σ conv1(x) is a constant; ∇_x Σ relu(conv1(x)) is not."""
    m = cnn_ensemble(1).members[0]
    x1, x2 = torch.rand(1, 16), torch.rand(1, 16)

    def grad_of(name: str, x: torch.Tensor) -> torch.Tensor:
        x = x.clone().requires_grad_(True)
        _, f = capture_features(m, x, [name])
        return torch.autograd.grad(f[name].sum(), x)[0]

    assert torch.allclose(grad_of("conv1", x1), grad_of("conv1", x2))
    assert not torch.allclose(grad_of("relu1", x1), grad_of("relu1", x2))
    obj = PARL(layers=1)
    assert obj.bind(cnn_ensemble()) == ["conv1"]
    assert obj.feature_modules == ["relu1"]
    pre = PARL(layers=1, features="preactivation")
    pre.bind(cnn_ensemble())
    assert pre.feature_modules == ["conv1"]
    with pytest.raises(ValueError, match="features"):
        PARL(features="post")  # type: ignore[arg-type]


def test_parl_value_is_a_literal_transcription_of_equation_one() -> None:
    """Seed 002 §4: per sample x, member i, layer k: ∇_x Σ_f F_k(x)_f of the k-th hidden layer's output features
    (after its ReLU); G_ij(x) = Σ_k cos; R = mean_x G; PARL = γ1 mean_x Σ_i J + γ2 Σ_{i<j} R."""
    ens = cnn_ensemble(3, seed=5).double()
    x = torch.rand(5, 16, dtype=torch.float64)
    y = torch.randint(0, 10, (5,))
    outputs_of_layer = ["relu1", "relu2", "relu3"]  # the ReLU modules after conv1..conv3 of CNN1d
    members = list(ens.members)
    g1, g2 = 0.7, 0.3
    ce_term = 0.0
    r = {(i, j): 0.0 for i in range(3) for j in range(i + 1, 3)}
    for b in range(5):
        xb = x[b : b + 1]
        grads = []
        for m in members:
            ce_term += float(F.cross_entropy(m(xb), y[b : b + 1]).detach())
            per_k = []
            for name in outputs_of_layer:
                xi = xb.clone().requires_grad_(True)
                _, f = capture_features(m, xi, [name])
                per_k.append(torch.autograd.grad(f[name].sum(), xi)[0].flatten())
            grads.append(per_k)
        for i, j in r:
            r[(i, j)] += sum(float(F.cosine_similarity(grads[i][k], grads[j][k], dim=0)) for k in range(3)) / 5
    expected = g1 * ce_term / 5 + g2 * sum(r.values())
    out = PARL(gamma1=g1, gamma2=g2, layers=3)(ens, x, y)
    assert float(out.losses.sum().detach()) == pytest.approx(expected, rel=1e-9)


def test_resnet1d_k_ablation_layers() -> None:
    """A deep member: 13 main-path convolutions, so PARL/3, /5, /7 select different prefixes."""
    m = coterie.models.create("resnet1d")
    names = [n for n in hidden_layers(m, "activation")]
    assert len(names) == 13 and names[0] == "conv1" and names[-1] == "layer3.1.conv2"
    for k in (3, 5, 7):
        assert resolve_layers(m, k, "activation") == names[:k]
    assert capture_names(m, names[:3], "activation") == ["relu1", "layer1.0.relu1", "layer1.0.relu2"]
    ens = coterie.Ensemble.from_factory("resnet1d", 2, seed=0, widths=(4, 6, 8), blocks=1)
    ens.eval()
    x = torch.rand(3, 40)
    s = pairwise_similarity(ens, x, 7)
    assert s.shape == (2, 2) and float(s[0, 0]) == pytest.approx(7.0, abs=1e-4)
