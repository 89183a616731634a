"""Batched population scoring gives the naive loop's accuracies."""

from __future__ import annotations

import pytest
import torch

from coterie import merging, models
from coterie.merging.scoring import PopulationScorer
from coterie.merging.state import StateLayout


@pytest.mark.parametrize(
    ("name", "kw", "shape", "methods"),
    [
        ("mlp", {"hidden": (16, 16)}, (40,), ("loop", "vmap", "fused")),
        ("resnet20", {"in_channels": 1, "width": 2, "blocks": 1}, (1, 8, 8), ("loop", "vmap")),
    ],
)
def test_methods_agree_with_naive(name: str, kw: dict, shape: tuple, methods: tuple) -> None:
    torch.manual_seed(0)
    a, b = models.create(name, **kw), models.create(name, **kw)
    layout = StateLayout(a)
    t1, t2 = layout.flatten(a), layout.flatten(b)
    pop = torch.stack([t2 + al * (t1 - t2) for al in torch.linspace(0, 1, 5)])
    x, y = torch.rand(30, *shape), torch.randint(0, 10, (30,))
    batches = merging.as_batches((x, y), role="fitness", batch_size=16)
    ref_acc, ref_nll = PopulationScorer(layout, batches, "naive").score(pop, nll=True)
    for method in methods:
        acc, nll = PopulationScorer(layout, batches, method, chunk=3).score(pop, nll=True)
        assert torch.equal(acc, ref_acc), method
        assert torch.allclose(nll, ref_nll, atol=1e-4), method
    # and the naive scores are what evaluate() reports for the built models
    for i in (0, 4):
        assert merging.evaluate(layout.build(pop[i]), (x, y))["accuracy"] == pytest.approx(float(ref_acc[i]))


def test_fused_needs_mlp() -> None:
    m = models.create("resnet20", in_channels=1, width=2, blocks=1)
    batches = merging.as_batches((torch.rand(2, 1, 8, 8), torch.zeros(2, dtype=torch.long)), role="fitness")
    with pytest.raises(ValueError, match="MLP"):
        PopulationScorer(StateLayout(m), batches, "fused")
