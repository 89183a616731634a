"""ADP against a literal transcription of the official trainer's loss (DVERGE repository, train/train_adp.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import autograd, nn
from torch.nn import functional as F

import coterie
from coterie.objectives.adp import ADP


def official_adp_loss(
    models: list[nn.Module], inputs: torch.Tensor, targets: torch.Tensor, alpha: float, beta: float, num_classes: int
) -> torch.Tensor:
    """ADP_Trainer.train's loss for one batch, transcribed (plus_adv off)."""
    criterion = nn.CrossEntropyLoss()
    log_offset, det_offset = 1e-20, 1e-6
    y_true = torch.zeros(inputs.size(0), num_classes, dtype=inputs.dtype)
    y_true.scatter_(1, targets.view(-1, 1), 1)
    ce_loss = 0
    mask_non_y_pred = []
    ensemble_probs = 0
    for m in models:
        outputs = m(inputs)
        ce_loss += criterion(outputs, targets)
        y_pred = F.softmax(outputs, dim=-1)
        bool_r_y_true = torch.eq(torch.ones_like(y_true) - y_true, torch.ones_like(y_true))
        mask_non_y_pred.append(torch.masked_select(y_pred, bool_r_y_true).reshape(-1, num_classes - 1))
        ensemble_probs += y_pred
    ensemble_probs = ensemble_probs / len(models)
    ensemble_entropy = torch.sum(-torch.mul(ensemble_probs, torch.log(ensemble_probs + log_offset)), dim=-1).mean()
    mask_non_y_pred = torch.stack(mask_non_y_pred, dim=1)
    mask_non_y_pred = mask_non_y_pred / torch.norm(mask_non_y_pred, p=2, dim=-1, keepdim=True)
    matrix = torch.matmul(mask_non_y_pred, mask_non_y_pred.permute(0, 2, 1))
    eye = torch.eye(len(models), dtype=matrix.dtype).unsqueeze(0)
    log_det = torch.logdet(matrix + det_offset * eye).mean()
    return ce_loss - alpha * ensemble_entropy - beta * log_det


@pytest.mark.parametrize("n", [2, 3, 4])
def test_adp_losses_sum_to_the_official_loss_with_its_gradient(n: int) -> None:
    ens = coterie.Ensemble.from_factory("cnn1d", n, seed=4, channels=(4, 6), hidden=10, input_length=16).double()
    x = torch.rand(9, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    y = torch.randint(0, 10, (9,), generator=torch.Generator().manual_seed(6))
    members = list(ens.members)
    ref = official_adp_loss(members, x, y, 2.0, 0.5, 10)
    out = ADP()(ens, x, y)
    assert float(out.losses.sum().detach()) == pytest.approx(float(ref.detach()), rel=1e-10)
    for i, m in enumerate(members):
        own = autograd.grad(out.losses[i], list(m.parameters()), retain_graph=True)
        ref_i = autograd.grad(ref, list(m.parameters()), retain_graph=True)
        for a, b in zip(own, ref_i):
            assert torch.allclose(a, b, rtol=1e-8, atol=1e-12)


def test_defaults_are_the_official_ones() -> None:
    assert ADP().config() == {"alpha": 2.0, "beta": 0.5, "det_offset": 1e-6}
    assert "train_adp.py" in (coterie.objectives.adp.__doc__ or "")


# Hand computation on toy members whose logits are free parameters.


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


def test_adp_registered_and_exported() -> None:
    assert isinstance(coterie.objectives.create("adp"), coterie.ADP)
    assert ADP().config() == {"alpha": 2.0, "beta": 0.5, "det_offset": 1e-6}
