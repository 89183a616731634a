"""PARL baselines: ADP and GAL terms against hand computation on toys; DVERGE against an independent recomputation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn import functional as F

import coterie
from coterie.objectives.adp import ADP
from coterie.objectives.dverge import DVERGE, feature_distillation, layer_output
from coterie.objectives.gal import GAL
from coterie.objectives.parl import shared_term_member_losses


class LogitMember(nn.Module):
    """A 'network' whose logits are free parameters (B, C), ignoring the input."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.z = nn.Parameter(logits.clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.z


class Stack(nn.Module):
    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


def test_adp_matches_hand_computation() -> None:
    z1, z2 = np.array([2.0, 0.5, -1.0]), np.array([0.3, 1.2, 0.1])
    y = 0
    p1, p2 = _softmax(z1), _softmax(z2)
    pbar = (p1 + p2) / 2
    h = -(pbar * np.log(pbar + 1e-20)).sum()
    m1, m2 = p1[1:] / np.linalg.norm(p1[1:]), p2[1:] / np.linalg.norm(p2[1:])
    c = float(m1 @ m2)
    logdet = math.log((1 + 1e-6) ** 2 - c**2)
    ce = -math.log(p1[y]) - math.log(p2[y])
    expected = ce - 2.0 * h - 0.5 * logdet

    ens = Stack([LogitMember(torch.from_numpy(z1[None])), LogitMember(torch.from_numpy(z2[None]))])
    with torch.no_grad():
        out = ADP()(ens, torch.zeros(1, 1), torch.tensor([y]))
    assert float(out.losses.sum()) == pytest.approx(expected, rel=1e-9)
    assert float(out.terms["entropy"]) == pytest.approx(h, rel=1e-9)
    assert float(out.terms["log_det"]) == pytest.approx(logdet, rel=1e-9)


def test_shared_term_split_sums_to_term_and_gives_each_row_its_gradient() -> None:
    z = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)

    def term(t: torch.Tensor) -> torch.Tensor:  # a coupling term
        return (t.sum(0) ** 2).sum() + torch.logdet(t @ t.T + torch.eye(4, dtype=t.dtype))

    shares = shared_term_member_losses(term, z)
    assert float(shares.sum().detach()) == pytest.approx(float(term(z).detach()), rel=1e-12)
    (full,) = torch.autograd.grad(term(z), z)
    for i in range(4):
        (gi,) = torch.autograd.grad(shares[i], z, retain_graph=True)
        assert torch.allclose(gi[i], full[i])
        assert torch.count_nonzero(torch.cat([gi[:i], gi[i + 1 :]])) == 0


def test_adp_member_shares_have_the_joint_gradient() -> None:
    torch.manual_seed(0)
    ens = Stack([LogitMember(torch.randn(5, 4).double()) for _ in range(3)])
    y = torch.randint(0, 4, (5,))
    obj = ADP()
    out = obj(ens, torch.zeros(5, 1), y)
    logits = torch.stack([m.z for m in ens.members])
    joint = F.cross_entropy(logits.reshape(15, 4), y.repeat(3), reduction="none").view(3, 5).mean(1).sum()
    joint = joint + obj.regulariser(logits.softmax(-1), y)
    ref = torch.autograd.grad(joint, [m.z for m in ens.members])
    for i, m in enumerate(ens.members):
        (gi,) = torch.autograd.grad(out.losses[i], m.z, retain_graph=True)
        assert torch.allclose(gi, ref[i], atol=1e-10)


def test_gal_matches_hand_computation_on_linear_members() -> None:
    torch.manual_seed(1)
    ws = [torch.randn(3, 4, dtype=torch.float64) for _ in range(3)]
    x = torch.rand(2, 4, dtype=torch.float64)
    y = torch.tensor([0, 2])
    members = []
    for w in ws:
        lin = nn.Linear(4, 3, bias=False).double()
        with torch.no_grad():
            lin.weight.copy_(w)
        members.append(lin)
    ens = Stack(members)
    # per sample: ∇_x CE_i = W_iᵀ (p_i − e_y); GAL = mean_b log Σ_{i<j} exp(cos)
    expected = 0.0
    for b in range(2):
        gs = []
        for w in ws:
            p = _softmax((w @ x[b]).numpy())
            e = np.eye(3)[int(y[b])]
            gs.append(w.numpy().T @ (p - e))
        cos = [gs[i] @ gs[j] / np.linalg.norm(gs[i]) / np.linalg.norm(gs[j]) for i in range(3) for j in range(i + 1, 3)]
        expected += math.log(sum(math.exp(c) for c in cos)) / 2
    out = GAL(lam=0.5)(ens, x, y)
    assert float(out.terms["gal"]) == pytest.approx(expected, rel=1e-9)
    ce = sum(F.cross_entropy(m(x), y) for m in members) / 3  # the official trainer averages the member CEs
    assert float(out.losses.sum()) == pytest.approx(float(ce) + 0.5 * expected, rel=1e-9)


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
    dist = [feature_distillation(m, x, x[perm], layer, 0.07, 0.007, 4) for m in ens.members]
    for i, m in enumerate(ens.members):
        expected = sum(F.cross_entropy(m(dist[j]), y) for j in range(3) if j != i)
        assert float(out.losses[i]) == pytest.approx(float(expected), rel=1e-5)


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


def test_baselines_registered_and_exported() -> None:
    for name, cls in (("adp", coterie.ADP), ("gal", coterie.GAL), ("dverge", coterie.DVERGE)):
        assert isinstance(coterie.objectives.create(name), cls)
    assert ADP().config() == {"alpha": 2.0, "beta": 0.5, "det_offset": 1e-6}
    assert GAL().config() == {"lam": 0.5, "log_offset": 1e-20}
    assert DVERGE().config()["eps"] == 0.07 and DVERGE().config()["steps"] == 10
