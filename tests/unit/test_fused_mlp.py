"""The fused MLP executor's hand-written backward against autograd through the plain per-member loop."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import CoLearning, Ensemble
from coterie.ensemble import executors
from coterie.ensemble.fused_mlp import FusedReluMLP


def _pair(n: int, hidden: tuple[int, ...], d: int = 7, c: int = 4, **kw) -> tuple[Ensemble, Ensemble]:
    make = lambda ex: Ensemble.from_factory(  # noqa: E731
        "mlp", n, seed=3, executor=ex, in_features=d, num_classes=c, hidden=hidden, **kw
    )
    return make("fused"), make("loop")


def _grads(ens: Ensemble) -> list[torch.Tensor | None]:
    return [p.grad for p in ens.parameters()]


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 5),
    b=st.integers(1, 33),
    hidden=st.lists(st.integers(1, 12), min_size=0, max_size=3).map(tuple),
    beta=st.floats(-0.5, 0.5),
)
def test_gradients_equal_autograd_through_the_loop(n: int, b: int, hidden: tuple[int, ...], beta: float) -> None:
    fused, loop = _pair(n, hidden)
    x, y = torch.randn(b, 7) * 3, torch.randint(0, 4, (b,))
    for ens in (fused, loop):
        CoLearning(beta)(ens, x, y).losses.sum().backward()
    for gf, gl in zip(_grads(fused), _grads(loop)):
        torch.testing.assert_close(gf, gl, atol=1e-5, rtol=1e-5)


def test_the_hand_written_backward_runs_in_training_and_not_elsewhere() -> None:
    fused, _ = _pair(3, (5, 5))
    x = torch.randn(4, 7)
    assert fused(x).grad_fn.name() == "FusedReluMLPBackward"
    with torch.no_grad():
        assert fused(x).grad_fn is None
    xg = x.clone().requires_grad_(True)  # input gradients (PARL, GAL, DVERGE): autograd's path
    assert fused(xg).grad_fn.name() != "FusedReluMLPBackward"
    tanh, _ = _pair(3, (5,), activation="tanh")  # only ReLU members have the hand-written backward
    assert tanh(x).grad_fn.name() != "FusedReluMLPBackward"


def test_input_gradients_still_flow_on_the_autograd_path() -> None:
    fused, loop = _pair(2, (6,))
    x = torch.randn(5, 7)
    gs = []
    for ens in (fused, loop):
        xi = x.clone().requires_grad_(True)
        ens(xi).sum().backward()
        gs.append(xi.grad)
    torch.testing.assert_close(gs[0], gs[1], atol=1e-5, rtol=1e-5)


def test_per_member_input_statistics_and_frozen_members() -> None:
    fused, loop = _pair(3, (6, 4))
    for ens in (fused, loop):
        ens.members[1].input_mean.fill_(0.5)  # members no longer share normalisation: (N, B, D) first layer
        for p in ens.members[2].parameters():
            p.requires_grad_(False)
    assert not executors.shared_input_stats(list(fused.members))
    x, y = torch.randn(9, 7), torch.randint(0, 4, (9,))
    for ens in (fused, loop):
        CoLearning(-0.2)(ens, x, y).losses.sum().backward()
    for gf, gl in zip(_grads(fused), _grads(loop)):
        assert (gf is None) == (gl is None)
        if gf is not None:
            torch.testing.assert_close(gf, gl, atol=1e-5, rtol=1e-5)
    assert all(p.grad is None for p in fused.members[2].parameters())


def test_gradients_accumulate_over_two_backward_passes() -> None:
    fused, loop = _pair(2, (5,))
    x, y = torch.randn(6, 7), torch.randint(0, 4, (6,))
    for ens in (fused, loop):
        for _ in range(2):
            CoLearning(0.1)(ens, x, y).losses.sum().backward()
    for gf, gl in zip(_grads(fused), _grads(loop)):
        torch.testing.assert_close(gf, gl, atol=1e-5, rtol=1e-5)


def test_a_second_order_backward_raises_instead_of_being_wrong() -> None:
    fused, _ = _pair(2, (5,))
    x = torch.randn(3, 7)
    params = list(fused.parameters())
    (g,) = torch.autograd.grad(fused(x).pow(2).sum(), params[:1], create_graph=True)
    with pytest.raises(RuntimeError):
        g.sum().backward()


def test_apply_checks_against_a_closed_form_single_layer() -> None:
    # one linear layer, one member: ∂/∂W Σ (x Wᵀ + b) = 1ᵀ x, ∂/∂b = B
    w = torch.randn(3, 4, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    x = torch.randn(5, 4)
    out = FusedReluMLP.apply(x, 1, None, w, b)
    torch.testing.assert_close(out[0], x @ w.T + b)
    out.sum().backward()
    torch.testing.assert_close(w.grad, x.sum(0).expand(3, 4))
    torch.testing.assert_close(b.grad, torch.full((3,), 5.0))
