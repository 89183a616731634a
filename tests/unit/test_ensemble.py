import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import Ensemble, models
from coterie.ensemble import RULES, combine


@pytest.mark.parametrize("executor", ["fused", "vmap"])
def test_vectorised_executors_match_loop(executor):
    ens = Ensemble.from_factory("mlp", 6, seed=1, in_features=40, hidden=(32, 16))
    x = torch.randn(17, 40)
    ens.executor = "loop"
    ref = ens(x)
    ens.executor = executor
    out = ens(x)
    assert out.shape == (6, 17, 10)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # gradients reach every member's own parameters identically
    g_ref = torch.autograd.grad(ref.square().sum(), list(ens.parameters()))
    ens.executor = executor
    g = torch.autograd.grad(ens(x).square().sum(), list(ens.parameters()))
    for a, b in zip(g, g_ref):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_vmap_matches_loop_for_cnn():
    ens = Ensemble.from_factory("lenet5", 3, seed=0, in_channels=1, input_size=28, executor="vmap")
    x = torch.rand(5, 1, 28, 28)
    out = ens(x)
    ens.executor = "loop"
    torch.testing.assert_close(out, ens(x), atol=1e-5, rtol=1e-5)


def test_auto_executor_choice_and_mixed_members():
    assert Ensemble.from_factory("mlp", 3, seed=0).resolved_executor == "fused"
    assert Ensemble.from_factory("lenet5", 2, seed=0).resolved_executor == "fused"  # on CPU
    assert Ensemble.from_factory("lenet5", 1, seed=0).resolved_executor == "loop"
    mixed = Ensemble([models.create("mlp"), models.create("cnn1d")])
    assert mixed.resolved_executor == "loop"
    assert mixed(torch.randn(3, 40)).shape == (2, 3, 10)
    mixed.executor = "fused"
    with pytest.raises(ValueError, match="cannot run"):
        mixed(torch.randn(3, 40))


def test_from_factory_members_differ_and_seed_reproducible():
    a = Ensemble.from_factory("mlp", 3, seed=5)
    b = Ensemble.from_factory("mlp", 3, seed=5)
    w = [m.fc1.weight for m in a.members]
    assert not torch.equal(w[0], w[1])
    for p, q in zip(a.parameters(), b.parameters()):
        assert torch.equal(p, q)


def test_combination_rules_on_hand_made_inputs():
    # two members, one sample, three classes
    p1 = torch.tensor([0.7, 0.2, 0.1])
    p2 = torch.tensor([0.1, 0.6, 0.3])
    p3 = torch.tensor([0.6, 0.3, 0.1])
    logits = torch.stack([p1, p2, p3]).log().unsqueeze(1)  # (3, 1, 3)
    torch.testing.assert_close(combine(logits, "mean")[0], (p1 + p2 + p3) / 3)
    g = (p1 * p2 * p3) ** (1 / 3)
    torch.testing.assert_close(combine(logits, "geometric")[0], g / g.sum())
    torch.testing.assert_close(combine(logits, "vote")[0], torch.tensor([2 / 3, 1 / 3, 0.0]))
    torch.testing.assert_close(combine(logits, "logit_mean")[0], logits.mean(0)[0].softmax(-1))
    with pytest.raises(ValueError, match="unknown combination rule"):
        combine(logits, "median")
    with pytest.raises(ValueError, match=r"\(N, B, C\)"):
        combine(logits[0], "mean")


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 5), st.integers(1, 6), st.integers(2, 5), st.sampled_from(RULES))
def test_rules_give_distributions(n, b, c, rule):
    logits = torch.randn(n, b, c)
    p = combine(logits, rule)
    assert p.shape == (b, c)
    torch.testing.assert_close(p.sum(-1), torch.ones(b))
    assert (p >= 0).all()


@pytest.mark.parametrize("rule", ["mean", "geometric", "vote", "logit_mean"])
def test_predict_proba_is_inference_without_a_graph(rule):
    ens = Ensemble.from_factory("mlp", 3, seed=0, in_features=5, num_classes=4, hidden=(8,))
    x = torch.randn(6, 5)
    p = ens.predict_proba(x, rule)
    assert not p.requires_grad and p.shape == (6, 4)
    with torch.no_grad():
        torch.testing.assert_close(p, combine(ens(x), rule))
    assert p.numpy().shape == (6, 4)  # usable as an array straight away
