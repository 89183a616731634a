"""Weight averaging."""

from __future__ import annotations

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import merging, models


def _pair(name: str = "mlp", **kw: object) -> tuple[torch.nn.Module, torch.nn.Module]:
    torch.manual_seed(0)
    return models.create(name, **kw), models.create(name, **kw)


def test_self_average_is_identity() -> None:
    a, _ = _pair("resnet20", in_channels=1, width=4)
    a.eval()
    m = merging.average([a, a]).eval()
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(m(x), a(x), atol=1e-6)


def test_average_is_elementwise_mean_and_copies_counters() -> None:
    a, b = _pair("vgg9", in_channels=1, num_classes=10, width=0.0625)
    a.bn1.num_batches_tracked.fill_(7)
    b.bn1.num_batches_tracked.fill_(3)
    m = merging.average([a, b])
    assert torch.allclose(m.conv1.weight, (a.conv1.weight + b.conv1.weight) / 2)
    assert int(m.bn1.num_batches_tracked) == 7
    assert torch.equal(m.input_mean, a.input_mean)
    assert a.conv1.weight.data_ptr() != m.conv1.weight.data_ptr()


@settings(max_examples=10, deadline=None)
@given(w=st.floats(0.0, 1.0))
def test_weighted_average_lies_on_segment(w: float) -> None:
    a, b = _pair(hidden=(8,))
    m = merging.average([a, b], weights=[w, 1 - w] if w < 1 else [1.0, 0.0])
    expected = w * a.fc1.weight + (1 - w) * b.fc1.weight
    assert torch.allclose(m.fc1.weight, expected, atol=1e-6)


def test_bad_weights() -> None:
    a, b = _pair(hidden=(8,))
    import pytest

    with pytest.raises(ValueError):
        merging.average([a, b], weights=[1.0])
    with pytest.raises(ValueError):
        merging.average([a, b], weights=[-1.0, 2.0])
