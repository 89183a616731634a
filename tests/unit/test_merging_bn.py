"""BatchNorm statistics repair, per model and batched over a population."""

from __future__ import annotations

import torch

from coterie import merging, models
from coterie.merging.bn import recompute_population
from coterie.merging.state import StateLayout


def test_recompute_matches_batch_statistics() -> None:
    torch.manual_seed(0)
    m = models.create("vgg9", in_channels=1, num_classes=10, width=0.0625)
    x = torch.rand(64, 1, 32, 32)
    merging.bn.recompute(m, (x, torch.zeros(64, dtype=torch.long)), batch_size=64)
    with torch.no_grad():
        h = m.conv1(m.normalize(x))
    assert torch.allclose(m.bn1.running_mean, h.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(m.bn1.running_var, h.var((0, 2, 3), unbiased=True), atol=1e-4)
    assert m.training  # mode restored
    assert m.bn1.momentum == 0.1


def test_population_recompute_equals_per_model() -> None:
    torch.manual_seed(0)
    kw = dict(in_channels=1, width=2, blocks=1)
    a, b = models.create("resnet20", **kw), models.create("resnet20", **kw)
    layout = StateLayout(a)
    pop = torch.stack([layout.flatten(a), layout.flatten(b), 0.5 * (layout.flatten(a) + layout.flatten(b))])
    x, y = torch.rand(40, 1, 8, 8), torch.zeros(40, dtype=torch.long)
    batches = merging.as_batches((x, y), role="bn", batch_size=16)
    recompute_population(layout, pop, batches, chunk=2)
    for i in range(3):
        ref = layout.build(pop[i].clone())
        merging.bn.recompute(ref, (x, y), batch_size=16)
        assert torch.allclose(layout.flatten(ref), pop[i], atol=1e-5)


def test_model_without_batchnorm_unchanged() -> None:
    m = models.create("mlp", hidden=(8,))
    before = {k: v.clone() for k, v in m.state_dict().items()}
    merging.bn.recompute(m, (torch.randn(8, 40), torch.zeros(8, dtype=torch.long)))
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())


def test_repair_rescues_averaged_batchnorm_network() -> None:
    """Blended running statistics no longer describe the merged network; re-estimation makes them exact again."""
    torch.manual_seed(0)
    kw = dict(in_channels=1, width=4, blocks=1)
    a, b = models.create("resnet20", **kw), models.create("resnet20", **kw)
    x = torch.rand(128, 1, 8, 8)
    for m in (a, b):
        merging.bn.recompute(m, (x, torch.zeros(128, dtype=torch.long)))
    merged = merging.average([a, merging.align(a, b)])
    merging.bn.recompute(merged, (x, torch.zeros(128, dtype=torch.long)), batch_size=128)
    merged.eval()
    with torch.no_grad():
        h = merged.bn1(merged.conv1(merged.normalize(x)))
    assert torch.allclose(h.mean((0, 2, 3)), merged.bn1.bias, atol=1e-4)
