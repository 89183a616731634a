"""DVERGE's feature distillation against a literal transcription of the official ``Linf_distillation``."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn import functional as F

import coterie
from coterie.objectives.dverge import DVERGE, feature_distillation, layer_output


def official_distillation(
    model: nn.Module,
    dat: torch.Tensor,
    target: torch.Tensor,
    eps: float,
    alpha: float,
    steps: int,
    layer: str,
    mu: float = 1.0,
    momentum: bool = True,
    start: torch.Tensor | None = None,
) -> list[torch.Tensor]:
    """DVERGE repository, distillation.py, Linf_distillation (with gradient_wrt_feature), transcribed line by line
    on CPU; ``start`` replaces the random start. Returns the iterate after every step."""
    x_nat = dat.clone().detach()
    x_adv = dat.clone().detach() if start is None else start.clone().detach()
    x_adv = torch.clamp(x_adv, 0.0, 1.0)
    g = torch.zeros_like(x_adv)
    iterates = []
    for _ in range(steps):
        # gradient_wrt_feature(model, x_adv, target, layer, before_relu) with criterion nn.MSELoss()
        source = x_adv.clone().detach().requires_grad_(True)
        out = layer_output(model, source, layer)
        tgt = layer_output(model, target, layer).data.clone().detach()
        loss = nn.MSELoss()(out, tgt)
        model.zero_grad()
        loss.backward()
        grad = source.grad.data.clone().detach()
        with torch.no_grad():
            if momentum:
                flat_grad = grad.view(grad.shape[0], -1)
                l1_grad = torch.norm(flat_grad, 1, dim=1)
                grad = grad / torch.clamp(l1_grad, min=1e-12).view(grad.shape[0], *([1] * (grad.dim() - 1)))
                new_grad = mu * g + grad
                g = new_grad
            else:
                new_grad = grad
            x_adv = x_adv - alpha * new_grad.sign()
            x_adv = torch.max(torch.min(x_adv, x_nat + eps), x_nat - eps)
            x_adv = torch.clamp(x_adv, 0.0, 1.0)
        iterates.append(x_adv.clone())
    return iterates


def _member() -> nn.Module:
    m = coterie.models.create("cnn1d", channels=(4, 8), hidden=12, input_length=16)
    m.eval()
    return m


@pytest.mark.parametrize(("momentum", "mu"), [(True, 1.0), (True, 0.5), (False, 1.0)])
@pytest.mark.parametrize("layer", ["conv1", "conv2", "fc1"])
def test_distillation_equals_official_step_by_step(momentum: bool, mu: float, layer: str) -> None:
    torch.manual_seed(3)
    m = _member()
    x, t = torch.rand(6, 16), torch.rand(6, 16)
    ref = official_distillation(m, x, t, 0.07, 0.007, 5, layer, mu=mu, momentum=momentum)
    for k in range(1, 6):
        ours = feature_distillation(m, x, t, layer, 0.07, 0.007, k, momentum=momentum, mu=mu)
        assert torch.equal(ours, ref[k - 1]), f"step {k}"


def test_defaults_are_the_official_ones() -> None:
    """Default call = momentum μ = 1, no random start; it differs from plain sign steps on this toy."""
    torch.manual_seed(4)
    m = _member()
    x, t = torch.rand(8, 16), torch.rand(8, 16)
    default = feature_distillation(m, x, t, "conv2", 0.07, 0.007, 10)
    assert torch.equal(default, official_distillation(m, x, t, 0.07, 0.007, 10, "conv2")[-1])
    plain = official_distillation(m, x, t, 0.07, 0.007, 10, "conv2", momentum=False)[-1]
    assert not torch.equal(default, plain)
    obj = DVERGE()
    assert (obj.eps, obj.step_size, obj.steps, obj.momentum, obj.mu, obj.rand_start) == (
        0.07,
        0.007,
        10,
        True,
        1.0,
        False,
    )


def test_random_start_is_the_official_uniform_start() -> None:
    torch.manual_seed(5)
    m = _member()
    x, t = torch.rand(4, 16), torch.rand(4, 16)
    ours = feature_distillation(
        m, x, t, "conv1", 0.05, 0.01, 3, rand_start=True, generator=torch.Generator().manual_seed(9)
    )
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(9))
    start = x + (2 * noise - 1) * 0.05  # x + U(-eps, eps), clamped inside the transcription
    ref = official_distillation(m, x, t, 0.05, 0.01, 3, "conv1", start=start)[-1]
    assert torch.equal(ours, ref)
    assert float((ours - x).abs().max()) <= 0.05 + 1e-6


def test_dverge_objective_passes_its_settings_to_the_distillation() -> None:
    ens = coterie.Ensemble.from_factory("cnn1d", 2, seed=0, channels=(4, 8), hidden=12, input_length=16)
    x, t = torch.rand(4, 16), torch.rand(4, 16)
    obj = DVERGE(momentum=False, steps=3)
    obj.on_epoch_start(0, ens, torch.Generator().manual_seed(0))
    m = ens.members[0]
    assert torch.equal(
        obj.distill(m, x, t, "conv1"), feature_distillation(m, x, t, "conv1", 0.07, 0.007, 3, momentum=False)
    )
    assert obj.config()["momentum"] is False and obj.config()["mu"] == 1.0


# DVERGE's loss against an independent recomputation, its layer draws and warm-up.


def tiny_ensemble(n: int = 3) -> coterie.Ensemble:
    return coterie.Ensemble.from_factory("cnn1d", n, seed=0, channels=(4, 8), hidden=12, input_length=16)


def test_feature_distillation_stays_feasible_and_moves_features_toward_target() -> None:
    m = tiny_ensemble(1).members[0]
    x, t = torch.rand(8, 16), torch.rand(8, 16)
    d = feature_distillation(m, x, t, "conv2", eps=0.1, step_size=0.01, steps=10)
    assert float((d - x).abs().max()) <= 0.1 + 1e-6 and float(d.min()) >= 0 and float(d.max()) <= 1
    with torch.no_grad():
        ft = layer_output(m, t, "conv2")
        assert float((layer_output(m, d, "conv2") - ft).pow(2).sum()) < float(
            (layer_output(m, x, "conv2") - ft).pow(2).sum()
        )
    assert m.training  # mode restored


def test_distillation_leaves_batchnorm_statistics_alone() -> None:
    m = coterie.models.create("resnet20", in_channels=1, width=2, blocks=1)
    m.train()
    before = m.bn1.running_mean.clone()
    feature_distillation(m, torch.rand(4, 1, 8, 8), torch.rand(4, 1, 8, 8), "layer1.0.conv2", 0.07, 0.007, 3)
    assert torch.equal(before, m.bn1.running_mean) and m.training


def test_dverge_losses_equal_independent_recomputation() -> None:
    ens = tiny_ensemble(3)
    x, y = torch.rand(6, 16), torch.randint(0, 10, (6,))
    obj = DVERGE(eps=0.07, step_size=0.007, steps=4)
    obj.on_epoch_start(0, ens, torch.Generator().manual_seed(11))
    out = obj(ens, x, y)
    # independent: same generator stream → same layer and target permutation
    g = torch.Generator().manual_seed(11)
    cands = ["conv1", "conv2", "fc1"]
    layer = cands[int(torch.randint(3, (1,), generator=g))]
    assert obj.layer == layer
    perm = torch.randperm(6, generator=g)
    target = x.clone()
    for k in range(6):  # sample perm[k] toward perm[k-1], written out
        target[perm[k]] = x[perm[k - 1]]
    assert all(not torch.equal(target[k], x[k]) for k in range(6))  # no sample is its own target
    dist = [feature_distillation(m, x, target, layer, 0.07, 0.007, 4) for m in ens.members]
    for i, m in enumerate(ens.members):
        expected = sum(F.cross_entropy(m(dist[j]), y) for j in range(3) if j != i)
        assert float(out.losses[i].detach()) == pytest.approx(float(expected.detach()), rel=1e-5)


def test_dverge_runs_each_distilled_batch_on_its_own_as_the_official_trainer() -> None:
    # BatchNorm members: the official train_dverge.py calls m(distilled_data) once per other member's batch, so
    # BatchNorm normalises over B samples and counts one update per batch; a joined (N-1)·B batch would not
    torch.manual_seed(0)
    ens = coterie.Ensemble.from_factory("resnet20", 3, seed=0, in_channels=1, width=2, blocks=1)
    ens.train()
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    obj = DVERGE(eps=0.07, step_size=0.007, steps=2)
    obj.on_epoch_start(0, ens, torch.Generator().manual_seed(3))
    twin = copy.deepcopy(ens)
    out = obj(ens, x, y)
    g = torch.Generator().manual_seed(3)  # the objective's draws again: the epoch's layer, then the batch order
    layer = obj.layer
    torch.randint(len(obj._candidates), (1,), generator=g)
    perm = torch.randperm(8, generator=g)
    target = x.clone()
    target[perm] = x[perm.roll(1)]
    dist = [feature_distillation(m, x, target, layer, 0.07, 0.007, 2) for m in twin.members]
    for i, m in enumerate(twin.members):
        expected = sum(F.cross_entropy(m(dist[j]), y) for j in range(3) if j != i)
        assert float(out.losses[i].detach()) == pytest.approx(float(expected.detach()), rel=1e-6)
    for a, b in zip(ens.members, twin.members):  # two BatchNorm updates per member and step, equal statistics
        assert int(a.bn1.num_batches_tracked) == int(b.bn1.num_batches_tracked) == 2
        torch.testing.assert_close(a.bn1.running_mean, b.bn1.running_mean)


def test_dverge_layer_draws_and_warmup() -> None:
    ens = tiny_ensemble(2)
    obj = DVERGE(warmup_epochs=1)
    layers = set()
    for e in range(12):
        obj.on_epoch_start(e, ens, torch.Generator().manual_seed(e))
        layers.add(obj.layer)
    assert layers <= {"conv1", "conv2", "fc1"} and len(layers) > 1
    obj.on_epoch_start(0, ens, torch.Generator().manual_seed(0))
    x, y = torch.rand(4, 16), torch.randint(0, 10, (4,))
    out = obj(ens, x, y)  # warm-up epoch: clean cross-entropy
    expected = torch.stack([F.cross_entropy(m(x), y) for m in ens.members])
    assert torch.allclose(out.losses, expected)
    with pytest.raises(ValueError, match="eps"):
        DVERGE(eps=2.0)


def test_dverge_registered_and_exported() -> None:
    assert isinstance(coterie.objectives.create("dverge"), coterie.DVERGE)
    assert DVERGE().config()["eps"] == 0.07 and DVERGE().config()["steps"] == 10
