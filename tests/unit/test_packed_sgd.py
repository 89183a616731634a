"""PackedSGD against torch.optim.SGD(fused=True): the same numbers, packed or not, on every path."""

from __future__ import annotations

import copy

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import CoLearning, Ensemble
from coterie.training.optim import build_optimizer
from coterie.training.packed_sgd import PackedSGD

KW = {"in_features": 6, "num_classes": 3, "hidden": (5,)}


def _run(opt_cls, steps: int, freeze: bool = False, **hp) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
    ens = Ensemble.from_factory("mlp", 3, seed=2, executor="fused", **KW)
    if freeze:
        for p in ens.members[1].parameters():
            p.requires_grad_(False)
    opt = opt_cls([p for p in ens.parameters() if p.requires_grad], fused=True, **hp)
    g = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x, y = torch.randn(7, 6, generator=g), torch.randint(0, 3, (7,), generator=g)
        opt.zero_grad(set_to_none=True)
        CoLearning(-0.2)(ens, x, y).losses.sum().backward()
        opt.step()
    return [p.detach().clone() for p in ens.parameters()], opt


@settings(max_examples=20, deadline=None)
@given(
    momentum=st.sampled_from([0.0, 0.9]),
    nesterov=st.booleans(),
    weight_decay=st.sampled_from([0.0, 5e-3]),
    dampening=st.sampled_from([0.0, 0.3]),
    maximize=st.booleans(),
    freeze=st.booleans(),
)
def test_equals_fused_sgd_over_several_steps(momentum, nesterov, weight_decay, dampening, maximize, freeze) -> None:
    if nesterov and (momentum == 0 or dampening != 0):
        nesterov = False  # torch refuses these combinations
    hp = dict(
        lr=0.05, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, dampening=dampening, maximize=maximize
    )
    ours, _ = _run(PackedSGD, 4, freeze, **hp)
    ref, _ = _run(torch.optim.SGD, 4, freeze, **hp)
    for a, b in zip(ours, ref):  # the kernel's vector body and scalar tail round differently: not bit-equal
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)


def test_the_packed_path_is_taken_and_momentum_buffers_are_slices_of_one_tensor() -> None:
    _, opt = _run(PackedSGD, 2, lr=0.05, momentum=0.9)
    group = opt.param_groups[0]
    assert opt._plan(group) is not None
    bufs = [opt.state[p]["momentum_buffer"] for p in group["params"]]
    storages = {b.untyped_storage().data_ptr() for b in bufs}
    assert len(storages) == 2 * len(KW["hidden"]) + 2  # weight and bias of each layer: one buffer per pack


def test_state_dict_round_trip_restacks_the_buffers() -> None:
    _, opt = _run(PackedSGD, 2, lr=0.05, momentum=0.9)
    ens = Ensemble.from_factory("mlp", 3, seed=2, executor="fused", **KW)
    x, y = torch.randn(7, 6), torch.randint(0, 3, (7,))
    CoLearning(-0.2)(ens, x, y).losses.sum().backward()
    fresh = PackedSGD(ens.parameters(), lr=0.05, momentum=0.9, fused=True)
    fresh.load_state_dict(copy.deepcopy(opt.state_dict()))  # buffers arrive as N separate tensors
    plain = torch.optim.SGD(ens.parameters(), lr=0.05, momentum=0.9, fused=True)
    plain.load_state_dict(copy.deepcopy(opt.state_dict()))
    before = [p.detach().clone() for p in ens.parameters()]
    plain.step()
    expected = [p.detach().clone() for p in ens.parameters()]
    with torch.no_grad():
        for p, b in zip(ens.parameters(), before):
            p.copy_(b)
    fresh.step()
    for p, e in zip(ens.parameters(), expected):
        torch.testing.assert_close(p, e, rtol=1e-6, atol=1e-7)


def test_unpacked_parameters_and_closures_fall_back_to_torch() -> None:
    lin = torch.nn.Linear(3, 2)
    opt = PackedSGD(lin.parameters(), lr=0.1, momentum=0.9, fused=True)
    ref_lin = torch.nn.Linear(3, 2)
    ref_lin.load_state_dict(lin.state_dict())
    ref = torch.optim.SGD(ref_lin.parameters(), lr=0.1, momentum=0.9, fused=True)
    x = torch.randn(4, 3)
    for m, o in ((lin, opt), (ref_lin, ref)):

        def closure(m=m, o=o):
            o.zero_grad()
            loss = m(x).pow(2).sum()
            loss.backward()
            return loss

        o.step(closure)
        o.step()
    torch.testing.assert_close(lin.weight, ref_lin.weight, rtol=1e-6, atol=1e-7)


def test_build_optimizer_uses_it_only_where_torch_would_fuse() -> None:
    ens = Ensemble.from_factory("mlp", 2, seed=0, **KW)
    opt = build_optimizer(ens.parameters(), "sgd", lr=0.1, momentum=0.9)
    fused = opt.param_groups[0]["fused"]
    assert isinstance(opt, PackedSGD) == bool(fused)
    with pytest.raises(ValueError):
        build_optimizer(ens.parameters(), "sgd", lr=-1.0)


def _kept_grads_steps(opt_cls, change: str) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
    """Two steps on gradients kept across steps (``zero_grad(set_to_none=False)``), then one after ``change`` altered
    member 1's first-layer gradient: ``fresh`` replaces it by a new tensor (3× its values), ``set`` moves the same
    tensor object onto new storage (3× its values), ``none`` leaves it."""
    ens = Ensemble.from_factory("mlp", 3, seed=2, executor="fused", **KW)
    opt = opt_cls(ens.parameters(), lr=0.05, momentum=0.9, fused=True)
    x, y = torch.randn(7, 6, generator=torch.Generator().manual_seed(1)), torch.tensor([0, 1, 2, 0, 1, 2, 0])
    for _ in range(2):
        opt.zero_grad(set_to_none=False)
        CoLearning(-0.2)(ens, x, y).losses.sum().backward()
        opt.step()
    p = ens.members[1].get_parameter("fc1.weight")
    if change == "fresh":
        p.grad = p.grad * 3
    elif change == "set":
        with torch.no_grad():
            p.grad.set_(p.grad * 3)
    opt.step()  # the same gradients again (or the changed ones)
    return [q.detach().clone() for q in ens.parameters()], opt


@pytest.mark.parametrize("change", ["none", "fresh", "set"])
def test_gradients_kept_across_steps_are_recognised_and_a_changed_one_is_detected(change: str) -> None:
    ours, opt = _kept_grads_steps(PackedSGD, change)
    ref, _ = _kept_grads_steps(torch.optim.SGD, change)
    for a, b in zip(ours, ref):  # a stale packed gradient would have updated member 1 with the unchanged values
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    # the layer whose gradient changed is no longer recognised by identity; the other layers still are
    recognised = [
        opt._known_grads(packed, [q.grad for q in ps]) is not None for ps, packed in opt._runs(opt.param_groups[0])
    ]
    assert recognised == [change == "none", True, True, True]
    opt.zero_grad(set_to_none=True)  # and no gradient is kept past zero_grad
    assert not opt.__dict__.get("_coterie_grads")
