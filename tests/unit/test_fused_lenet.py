"""The fused LeNet-5 executor (one shared first convolution, grouped convolutions) against the per-member loop."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coterie import CoLearning, Ensemble
from coterie.ensemble import executors


def _pair(n: int, cin: int, size: int) -> tuple[Ensemble, Ensemble]:
    make = lambda ex: Ensemble.from_factory(  # noqa: E731
        "lenet5", n, seed=1, executor=ex, in_channels=cin, input_size=size, num_classes=4
    )
    return make("fused"), make("loop")


def _assert_same(fused: Ensemble, loop: Ensemble, x: torch.Tensor, y: torch.Tensor) -> None:
    outs = []
    for ens in (fused, loop):
        out = CoLearning(-0.3)(ens, x, y)
        out.losses.sum().backward()
        outs.append(out.logits.detach())
    torch.testing.assert_close(outs[0], outs[1], atol=1e-5, rtol=1e-5)
    for pf, pl in zip(fused.parameters(), loop.parameters()):
        assert (pf.grad is None) == (pl.grad is None)
        if pf.grad is not None:
            torch.testing.assert_close(pf.grad, pl.grad, atol=1e-5, rtol=1e-4)


@settings(max_examples=12, deadline=None)
@given(
    n=st.integers(1, 4),
    b=st.integers(1, 6),
    cin=st.sampled_from([1, 3]),
    size=st.integers(16, 33),
    per_member_stats=st.booleans(),
)
def test_outputs_and_gradients_equal_the_loop(n: int, b: int, cin: int, size: int, per_member_stats: bool) -> None:
    fused, loop = _pair(n, cin, size)
    if per_member_stats:
        for ens in (fused, loop):
            for i, m in enumerate(ens.members):
                m.input_mean.add_(0.1 * i)
                m.input_std.mul_(1.0 + 0.2 * i)
    assert executors.shared_input_stats(list(fused.members)) == (n == 1 or not per_member_stats)
    x, y = torch.rand(b, cin, size, size), torch.randint(0, 4, (b,))
    _assert_same(fused, loop, x, y)


def test_ties_and_zeros_under_pooling_match_the_loop() -> None:
    # Constant conv1 maps: every pooling window is a tie, and ReLU sees exact zeros and negatives, where the
    # pool-then-ReLU order must still route values and gradients as ReLU-then-pool does.
    fused, loop = _pair(3, 1, 28)
    for ens in (fused, loop):
        for i, m in enumerate(ens.members):
            m.conv1.weight.data.zero_()
            m.conv1.bias.data.copy_(torch.tensor([0.0, -1.0, 1.0, 0.5, -0.5, 2.0]) * (i - 1))
    x, y = torch.rand(5, 1, 28, 28), torch.randint(0, 4, (5,))
    _assert_same(fused, loop, x, y)


def test_frozen_member_gets_no_gradient() -> None:
    fused, loop = _pair(3, 3, 32)
    for ens in (fused, loop):
        for p in ens.members[1].parameters():
            p.requires_grad_(False)
    _assert_same(fused, loop, torch.rand(4, 3, 32, 32), torch.randint(0, 4, (4,)))
    assert all(p.grad is None for p in fused.members[1].parameters())


def test_only_the_standard_lenet_is_fused() -> None:
    fused, _ = _pair(2, 1, 28)
    assert executors.supported(list(fused.members), "fused")
    for m in fused.members:
        m.pool1 = nn.AvgPool2d(2)  # a layer the fused network would not reproduce
    members = list(fused.members)
    assert not executors.supported(members, "fused") and executors.choose(members) == "loop"
    with pytest.raises(ValueError, match="cannot run"):
        fused(torch.rand(2, 1, 28, 28))


def test_compiled_fused_lenet_matches_eager() -> None:
    ens = Ensemble.from_factory("lenet5", 2, seed=0, in_channels=1, input_size=16, compile=True)
    x = torch.rand(3, 1, 16, 16)
    out = ens(x)
    ens.compile = False
    torch.testing.assert_close(out, ens(x), atol=1e-5, rtol=1e-5)
