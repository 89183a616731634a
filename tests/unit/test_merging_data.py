"""Data roles: fitness, BatchNorm and test data are separate, and the test split cannot become fitness data."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from coterie import merging, models
from coterie.data import TensorData, random_splits


def _splits() -> object:
    g = torch.Generator().manual_seed(0)
    data = TensorData(torch.randn(100, 40, generator=g), torch.randint(0, 10, (100,), generator=g), 10, "toy")
    return random_splits(data, 0.2, 0.2, seed=0)


def test_pair_and_loader_give_same_batches() -> None:
    x, y = torch.randn(10, 3), torch.arange(10)
    a = merging.as_batches((x, y), role="fitness", batch_size=4)
    b = merging.as_batches(DataLoader(TensorDataset(x, y), batch_size=4), role="fitness")
    assert [t[0].shape[0] for t in a] == [4, 4, 2]
    assert all(torch.equal(p[0], q[0]) and torch.equal(p[1], q[1]) for p, q in zip(a, b))


def test_splits_route_each_role_to_its_part() -> None:
    s = _splits()
    ((xf, _),) = merging.as_batches(s, role="fitness", batch_size=1000)
    ((xb, _),) = merging.as_batches(s, role="bn", batch_size=1000)
    ((xt, _),) = merging.as_batches(s, role="test", batch_size=1000)
    assert torch.equal(xf, s.val.x) and torch.equal(xb, s.train.x) and torch.equal(xt, s.test.x)


def test_held_out_data_is_refused_for_fitness_and_bn() -> None:
    s = _splits()
    a, b = models.create("mlp", hidden=(8,)), models.create("mlp", hidden=(8,))
    test = merging.held_out(s.test)
    with pytest.raises(TypeError, match="test"):
        merging.mega([a, b], test, population=4, generations=2)
    with pytest.raises(TypeError, match="test"):
        merging.mega([a, b], s.val.tensors(), bn_data=test, population=4, generations=2)
    with pytest.raises(TypeError, match="test"):
        merging.bn.recompute(
            models.create("resnet20", in_channels=1, width=2),
            merging.held_out((torch.rand(4, 1, 8, 8), torch.zeros(4))),
        )
    assert 0.0 <= merging.evaluate(a, test)["accuracy"] <= 1.0


def test_test_named_tensor_data_is_refused() -> None:
    d = TensorData(torch.randn(4, 40), torch.zeros(4, dtype=torch.long), 10, "mnist1d:test")
    with pytest.raises(TypeError):
        merging.as_batches(d, role="fitness")


def test_empty_and_bad_data() -> None:
    with pytest.raises(ValueError):
        merging.as_batches((torch.zeros(0, 3), torch.zeros(0)), role="fitness")
    with pytest.raises(TypeError):
        merging.as_batches(3.0, role="fitness")
