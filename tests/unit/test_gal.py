"""GAL against a literal transcription of the official trainer's loss (DVERGE repository, train/train_gal.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import autograd, nn
from torch.nn import functional as F

import coterie
from coterie.objectives.gal import GAL


def official_gal_loss(
    models: list[nn.Module], inputs: torch.Tensor, targets: torch.Tensor, coeff: float
) -> torch.Tensor:
    """GAL_Trainer.train's loss for one batch, transcribed (plus_adv off)."""
    criterion = nn.CrossEntropyLoss()
    log_offset = 1e-20
    inputs = inputs.clone().requires_grad_(True)
    ce_loss = 0
    grads = []
    for m in models:
        outputs = m(inputs)
        loss = criterion(outputs, targets)
        grad = autograd.grad(loss, inputs, create_graph=True)[0]
        grad = grad.flatten(start_dim=1)
        grads.append(grad)
        ce_loss += criterion(m(inputs.clone().detach()), targets)
    cos_sim = []
    for i in range(len(models)):
        for j in range(i + 1, len(models)):
            cos_sim.append(F.cosine_similarity(grads[i], grads[j], dim=-1))
    cos_sim = torch.stack(cos_sim, dim=-1)
    coh_loss = torch.log(cos_sim.exp().sum(dim=-1) + log_offset).mean()
    return ce_loss / len(models) + coeff * coh_loss


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
@pytest.mark.parametrize("n", [2, 3])
def test_gal_losses_sum_to_the_official_loss_with_its_gradient(n: int, activation: str) -> None:
    ens = coterie.Ensemble.from_factory(
        "cnn1d", n, seed=1, channels=(4, 6), hidden=10, input_length=16, activation=activation
    ).double()
    x = torch.rand(7, 16, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    y = torch.randint(0, 10, (7,), generator=torch.Generator().manual_seed(3))
    members = list(ens.members)
    ref = official_gal_loss(members, x, y, 0.5)
    out = GAL(lam=0.5)(ens, x, y)
    assert float(out.losses.sum().detach()) == pytest.approx(float(ref.detach()), rel=1e-10)
    params = list(ens.parameters())
    g_ref = autograd.grad(ref, params, retain_graph=True)
    g_ours = autograd.grad(out.losses.sum(), params, retain_graph=True)
    for a, b in zip(g_ref, g_ours):
        assert torch.allclose(a, b, rtol=1e-8, atol=1e-12)
    # member i's own loss carries ∂L/∂θ_i (one optimiser over all members in the official code)
    for i, m in enumerate(members):
        own = autograd.grad(out.losses[i], list(m.parameters()), retain_graph=True)
        ref_i = autograd.grad(ref, list(m.parameters()), retain_graph=True)
        for a, b in zip(own, ref_i):
            assert torch.allclose(a, b, rtol=1e-8, atol=1e-12)


def test_defaults_credit_the_official_code() -> None:
    gal = GAL()
    assert gal.lam == 0.5 and gal.log_offset == 1e-20
    doc = coterie.objectives.gal.__doc__ or ""
    assert "train_gal.py" in doc and "seed 002 gives no λ" in doc


def test_leaky_relu_members_use_slope_point_one() -> None:
    m = coterie.models.create("cnn1d", activation="leaky_relu")
    acts = [mod for mod in m.modules() if isinstance(mod, nn.LeakyReLU)]
    assert len(acts) == 3 and all(a.negative_slope == 0.1 for a in acts)
    with pytest.raises(ValueError, match="unknown activation"):
        coterie.models.create("cnn1d", activation="swish")


# Hand computation on linear members.


class Stack(nn.Module):
    def __init__(self, members: list[nn.Module]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members])


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max())
    return e / e.sum()


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


def test_gal_registered_and_exported() -> None:
    assert isinstance(coterie.objectives.create("gal"), coterie.GAL)
    assert GAL().config() == {"lam": 0.5, "log_offset": 1e-20}
