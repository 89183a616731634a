"""Permutation alignment by weight matching: the aligned model computes the same function (1e-5)."""

from __future__ import annotations

import pytest
import torch

from coterie import merging, models
from coterie.merging.align import random_permutations

CASES = {
    "mlp": ({"hidden": (24, 16)}, (40,)),
    "lenet5": ({"in_channels": 1, "input_size": 16}, (1, 16, 16)),
    "vgg9": ({"in_channels": 1, "num_classes": 10, "width": 0.0625}, (1, 32, 32)),
    "resnet20": ({"in_channels": 1, "width": 4}, (1, 8, 8)),
    "cnn1d": ({"channels": (8, 8), "hidden": 16}, (40,)),
}


def _randomise_bn(m: torch.nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.running_mean.copy_(torch.randn(mod.num_features, generator=g))
            mod.running_var.copy_(torch.rand(mod.num_features, generator=g) + 0.5)
            mod.weight.data.copy_(torch.randn(mod.num_features, generator=g))
            mod.bias.data.copy_(torch.randn(mod.num_features, generator=g))


@pytest.mark.parametrize("name", list(CASES))
def test_alignment_preserves_function(name: str) -> None:
    kw, shape = CASES[name]
    torch.manual_seed(0)
    a, b = models.create(name, **kw).eval(), models.create(name, **kw).eval()
    _randomise_bn(a, 1)
    _randomise_bn(b, 2)
    c = merging.align(a, b).eval()
    x = torch.rand(6, *shape)
    with torch.no_grad():
        assert torch.allclose(c(x), b(x), atol=1e-5, rtol=1e-5)
    # it did permute something, and the original is untouched
    assert any(not torch.equal(c.state_dict()[k], v) for k, v in b.state_dict().items())


@pytest.mark.parametrize("name", ["mlp", "vgg9", "resnet20"])
def test_alignment_recovers_a_known_permutation(name: str) -> None:
    kw, shape = CASES[name]
    torch.manual_seed(0)
    a = models.create(name, **kw).eval()
    _randomise_bn(a, 3)
    shuffled = merging.permute(a, random_permutations(merging.spec_for(a), a.state_dict(), seed=4))
    x = torch.rand(4, *shape)
    with torch.no_grad():
        assert torch.allclose(shuffled(x), a(x), atol=1e-5)
    back = merging.align(a, shuffled)
    for k, v in a.state_dict().items():
        assert torch.equal(back.state_dict()[k], v), k


def test_alignment_brings_independent_models_closer() -> None:
    torch.manual_seed(0)
    a, b = models.create("mlp", hidden=(32,)), models.create("mlp", hidden=(32,))
    c = merging.align(a, b)
    assert (a.fc1.weight - c.fc1.weight).norm() < (a.fc1.weight - b.fc1.weight).norm()


def test_unsupported_and_mismatched() -> None:
    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(2, 2)

    with pytest.raises(NotImplementedError, match="supported"):
        merging.align(Tiny(), Tiny())
    with pytest.raises(merging.ArchitectureMismatchError):
        merging.align(models.create("mlp", hidden=(8,)), models.create("mlp", hidden=(9,)))
