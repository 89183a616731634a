"""Executor choice, the timing probe, channels_last in the loop and the torch.compile fallback."""

from __future__ import annotations

import logging

import pytest
import torch

from coterie import Ensemble, models
from coterie.ensemble import compiled, executors, probe


def test_loop_channels_last_input_is_identical_and_leaves_members_alone():
    ens = Ensemble.from_factory("lenet5", 2, seed=0, in_channels=1, input_size=28, executor="loop")
    x = torch.rand(4, 1, 28, 28)
    ref = torch.stack([m(x) for m in ens.members])  # plain contiguous input
    torch.testing.assert_close(ens(x), ref, atol=1e-5, rtol=1e-5)
    assert all(p.is_contiguous() for p in ens.parameters())


def test_rules_and_doubt():
    mlp = list(Ensemble.from_factory("mlp", 3, seed=0).members)
    lenet = list(Ensemble.from_factory("lenet5", 2, seed=0, in_channels=1, input_size=28).members)
    cnn1d = list(Ensemble.from_factory("cnn1d", 2, seed=0).members)
    assert executors.choose(mlp) == "fused" and not executors.in_doubt(mlp)
    assert executors.choose(lenet) == "fused" and not executors.in_doubt(lenet, "cpu")
    assert executors.choose(lenet, "cuda") == "loop" and executors.in_doubt(lenet, "cuda")  # CUDA: a probe decides
    assert not executors.in_doubt([models.create("mlp"), models.create("cnn1d")])  # mixed: loop
    has_bn = any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in cnn1d[0].modules())
    assert executors.in_doubt(cnn1d, "cpu") == (not has_bn)


def test_probe_picks_a_supported_executor_caches_and_touches_nothing():
    probe.clear_cache()
    ens = Ensemble.from_factory("mlp", 3, seed=0, hidden=(8,))
    before = {k: v.clone() for k, v in ens.state_dict().items()}
    x = torch.randn(16, 40)
    best = probe.probe(list(ens.members), x, candidates=("loop", "vmap", "fused"), rounds=1)
    assert best in ("loop", "vmap", "fused")
    assert probe.probe(list(ens.members), x, candidates=("loop", "vmap", "fused")) == best  # cached
    for k, v in ens.state_dict().items():
        assert torch.equal(v, before[k])
    assert all(p.grad is None for p in ens.parameters())


def test_auto_probes_once_when_in_doubt(monkeypatch):
    probe.clear_cache()
    calls = []
    monkeypatch.setattr(executors, "in_doubt", lambda members, device="cpu": True)

    def fake(members, x, candidates=("loop", "vmap"), rounds=3):
        calls.append(x.shape)
        return "vmap"

    monkeypatch.setattr(probe, "probe", fake)
    ens = Ensemble.from_factory("lenet5", 2, seed=0, in_channels=1, input_size=28)
    x = torch.rand(3, 1, 28, 28)
    ref = torch.stack([m(x) for m in ens.members])
    torch.testing.assert_close(ens(x), ref, atol=1e-5, rtol=1e-5)
    ens(x)
    assert calls == [x.shape] and ens.resolved_executor == "vmap"


def test_compile_failure_falls_back_to_eager(monkeypatch, caplog):
    def broken(*a, **k):
        raise RuntimeError("no compiler here")

    monkeypatch.setattr(torch, "compile", broken)
    ens = Ensemble.from_factory("mlp", 3, seed=0, hidden=(8,), compile=True)
    x = torch.randn(5, 40)
    with caplog.at_level(logging.WARNING, logger=compiled.__name__):
        out = ens(x)
    assert "torch.compile failed" in caplog.text
    ens.compile = False
    torch.testing.assert_close(out, ens(x))
    ens.compile = True
    ens(x).sum().backward()  # eager from now on, gradients intact
    assert all(p.grad is not None for p in ens.parameters())


@pytest.mark.slow
def test_compiled_fused_matches_eager():
    ens = Ensemble.from_factory("mlp", 4, seed=0, hidden=(16, 16), compile=True)
    x = torch.randn(32, 40)
    out = ens(x)
    ens.compile = False
    torch.testing.assert_close(out, ens(x), atol=1e-5, rtol=1e-5)


def test_structural_answers_follow_changes_to_member_trees() -> None:
    """The memoised checks never serve a stale answer: replacing a layer in place changes the architecture."""
    members = list(Ensemble.from_factory("mlp", 3, seed=0, in_features=6, num_classes=3, hidden=(5,)).members)
    assert executors.same_architecture(members) and executors.choose(members) == "fused"
    members[1].fc1 = torch.nn.Linear(6, 5)  # same shape: still one architecture
    assert executors.same_architecture(members)
    members[2].head = torch.nn.Linear(5, 4)  # different shape, same member objects
    assert not executors.same_architecture(members)
    assert executors.choose(members) == "loop"


def test_members_with_swapped_activations_are_not_fused() -> None:
    """Activations hold no parameters: a member whose ReLU became a Tanh must leave the fused path (which would
    apply member 0's ReLU to every member) — the outputs equal each member run on its own."""
    ens = Ensemble.from_factory("mlp", 3, seed=0, in_features=6, num_classes=3, hidden=(5,))
    x = torch.randn(4, 6)
    assert ens.resolved_executor == "fused"
    ens.members[2].act1 = torch.nn.Tanh()
    assert not executors.same_architecture(list(ens.members)) and ens.resolved_executor == "loop"
    ref = torch.stack([m(x) for m in ens.members])
    torch.testing.assert_close(ens(x), ref, atol=1e-6, rtol=1e-6)


def test_fused_forward_follows_a_layer_replaced_in_place() -> None:
    """After a same-shaped layer is swapped in, the (memoised, packed) fused forward uses the new weights."""
    ens = Ensemble.from_factory("mlp", 3, seed=0, in_features=6, num_classes=3, hidden=(5,))
    x = torch.randn(4, 6)
    ens(x).sum().backward()  # a training forward: the fused path packs the members' parameters
    torch.manual_seed(1)
    ens.members[1].fc1 = torch.nn.Linear(6, 5)
    assert ens.resolved_executor == "fused"
    for grad in (False, True):
        with torch.set_grad_enabled(grad):
            torch.testing.assert_close(ens(x), torch.stack([m(x) for m in ens.members]), atol=1e-5, rtol=1e-5)


def test_structure_key_tracks_registrations_and_keeps_nothing_alive() -> None:
    import gc
    import weakref

    members = list(Ensemble.from_factory("mlp", 2, seed=0, in_features=6, num_classes=3, hidden=(5,)).members)
    key = executors.structure_key(members)
    assert executors.structure_key(members) == key  # stable while nothing changes
    members[0].register_buffer("extra", torch.zeros(2))
    assert executors.structure_key(members) != key
    executors.choose(members)  # memoised now
    ref = weakref.ref(members[1].fc1.weight)
    del members
    gc.collect()
    assert ref() is None  # the memo holds identities and shapes, not the tensors


def test_plan_cache_starts_empty_in_copies_and_pickles(tmp_path) -> None:
    """An ensemble's plan cache holds its own members; a deepcopy or a torch.save/load copy starts afresh and runs
    its own (different) member objects."""
    import copy

    ens = Ensemble.from_factory("mlp", 3, seed=0, in_features=6, num_classes=3, hidden=(5,))
    x = torch.randn(4, 6)
    ref = ens(x).detach()
    twin = copy.deepcopy(ens)
    torch.save(ens, tmp_path / "ens.pt")
    loaded = torch.load(tmp_path / "ens.pt", weights_only=False)
    for other in (twin, loaded):
        torch.testing.assert_close(other(x).detach(), ref)
        other.members[2].act1 = torch.nn.Tanh()  # the copy's own tree changes; the original's does not
        torch.testing.assert_close(other(x).detach(), torch.stack([m(x) for m in other.members]).detach())
    torch.testing.assert_close(ens(x).detach(), ref)
