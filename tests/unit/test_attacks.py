"""Attacks against closed forms (linear models) and invariants (ε-ball, [0, 1], PGD ≡ BIM, MIM(μ=0) ≡ BIM)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

import coterie
from coterie.attacks import (
    AttackSettings,
    attack_loss,
    bim,
    fgsm,
    mim,
    pgd,
    predict,
    transfer_accuracy,
    whitebox_accuracy,
)


def linear_model(d: int = 6, c: int = 4, seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    m = nn.Linear(d, c)
    with torch.no_grad():
        m.weight.normal_()
        m.bias.normal_()
    return m


class LinearEnsemble(nn.Module):
    """N linear members stacked member-first, (N, B, C)."""

    def __init__(self, members: list[nn.Linear]) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.stack([m(x) for m in self.members])


def tiny_cnn_ensemble(n: int = 3) -> coterie.Ensemble:
    ens = coterie.Ensemble.from_factory("cnn1d", n, seed=0, channels=(4, 8), hidden=16, input_length=16)
    return ens.eval()


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), eps=st.floats(0.0, 0.3))
def test_fgsm_closed_form_linear(seed: int, eps: float) -> None:
    m = linear_model(seed=seed)
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(5, 6, generator=g)
    y = torch.randint(0, 4, (5,), generator=g)
    p = torch.softmax(x @ m.weight.T + m.bias, -1)
    grad = (p - F.one_hot(y, 4).float()) @ m.weight  # ∇_x CE per sample
    expected = (x + eps * grad.sign()).clamp(0, 1)
    for head in ("mean_prob", "mean_logit", "mean_ce"):  # all equal for one model
        assert torch.allclose(fgsm(m, x, y, eps, head=head), expected, atol=1e-6)


def test_fgsm_heads_on_linear_ensemble_closed_forms() -> None:
    ws = [linear_model(seed=s) for s in range(3)]
    ens = LinearEnsemble(ws)
    x = torch.rand(7, 6)
    y = torch.randint(0, 4, (7,))
    eps = 0.05
    onehot = F.one_hot(y, 4).float()
    # mean of member CE: mean_i W_iᵀ (p_i − e_y)
    g_ce = sum((torch.softmax(x @ w.weight.T + w.bias, -1) - onehot) @ w.weight for w in ws) / 3
    # mean logit: W̄ᵀ (softmax(W̄x + b̄) − e_y)
    wbar = sum(w.weight for w in ws) / 3
    bbar = sum(w.bias for w in ws) / 3
    g_logit = (torch.softmax(x @ wbar.T + bbar, -1) - onehot) @ wbar
    # mean probability: −∇ log p̄_y = −Σ_i p_iy ∇ log p_iy / Σ_i p_iy,  ∇ log p_iy = −W_iᵀ(p_i − e_y)
    ps = [torch.softmax(x @ w.weight.T + w.bias, -1) for w in ws]
    py = torch.stack([p.gather(1, y[:, None]).squeeze(1) for p in ps])  # (N, B)
    g_prob = sum(py[i, :, None] * ((ps[i] - onehot) @ ws[i].weight) for i in range(3)) / py.sum(0)[:, None]
    for head, g in (("mean_ce", g_ce), ("mean_logit", g_logit), ("mean_prob", g_prob)):
        expected = (x + eps * g.sign()).clamp(0, 1)
        assert torch.allclose(fgsm(ens, x, y, eps, head=head), expected, atol=1e-6), head


def test_cw_loss_margin() -> None:
    m = nn.Linear(2, 3, bias=False)
    with torch.no_grad():
        m.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]))
    x = torch.tensor([[0.9, 0.2]])
    y = torch.tensor([0])
    # logits (0.9, 0.2, 0.55): max other − true = 0.55 − 0.9
    assert torch.allclose(attack_loss(m, x, y, "mean_logit", "cw"), torch.tensor([-0.35]), atol=1e-6)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), eps=st.floats(0.0, 0.5), attack=st.sampled_from(["fgsm", "bim", "mim", "pgd"]))
def test_every_attack_stays_in_eps_ball_and_unit_box(seed: int, eps: float, attack: str) -> None:
    ens = tiny_cnn_ensemble()
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(6, 16, generator=g)
    x[0] = 0.0  # on the box's faces
    x[1] = 1.0
    y = torch.randint(0, 10, (6,), generator=g)
    kw = {} if attack == "fgsm" else {"steps": 4}
    if attack == "pgd":
        kw.update(restarts=2, generator=g)
    adv = {"fgsm": fgsm, "bim": bim, "mim": mim, "pgd": pgd}[attack](ens, x, y, eps, **kw)
    assert adv.shape == x.shape
    assert float((adv - x).abs().max()) <= eps + 1e-6
    assert float(adv.min()) >= 0.0 and float(adv.max()) <= 1.0


def test_pgd_without_random_start_one_restart_equals_bim() -> None:
    ens = tiny_cnn_ensemble()
    x = torch.rand(8, 16)
    y = torch.randint(0, 10, (8,))
    a = pgd(ens, x, y, 0.05, steps=7, restarts=1, random_init=False)
    b = bim(ens, x, y, 0.05, steps=7)
    assert torch.equal(a, b)


def test_mim_without_momentum_equals_bim_and_matches_reference() -> None:
    ens = tiny_cnn_ensemble()
    x = torch.rand(8, 16)
    y = torch.randint(0, 10, (8,))
    assert torch.equal(mim(ens, x, y, 0.05, steps=5, decay=0.0), bim(ens, x, y, 0.05, steps=5))
    # slow reference of seed 002 App. A with μ = 0.5
    mu, eps, alpha = 0.5, 0.05, 0.01
    xa, gm = x.clone(), torch.zeros_like(x)
    for _ in range(5):
        xr = xa.clone().requires_grad_(True)
        logp = torch.logsumexp(ens(xr).log_softmax(-1), 0) - torch.log(torch.tensor(3.0))
        (g,) = torch.autograd.grad(F.nll_loss(logp, y, reduction="sum"), xr)
        gm = mu * gm + g / g.abs().sum(1, keepdim=True)
        xa = torch.min(torch.max(xa + alpha * gm.sign(), x - eps), x + eps).clamp(0, 1)
    assert torch.allclose(mim(ens, x, y, eps, steps=5, step_size=alpha, decay=mu), xa, atol=1e-6)


def test_bim_defaults_follow_seed_002() -> None:
    """Seed 002 §5.1: 50 steps of α = ε/5 from the clean input; the default call is that literal loop (sign of the
    cross-entropy gradient, clipped to the ε-ball and to [0, 1]), which ends at least as high as one FGSM step."""
    from coterie.attacks.bim import DEFAULT_STEPS, default_step_size

    assert DEFAULT_STEPS == 50 and default_step_size(0.1) == pytest.approx(0.02)
    m = linear_model()
    x = torch.rand(10, 6) * 0.8 + 0.1
    y = torch.randint(0, 4, (10,))
    xa = x.clone()
    for _ in range(50):
        xr = xa.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(F.cross_entropy(m(xr), y, reduction="sum"), xr)
        xa = torch.min(torch.max(xa + 0.02 * g.sign(), x - 0.1), x + 0.1).clamp(0, 1)
    adv = bim(m, x, y, 0.1)
    torch.testing.assert_close(adv, xa, rtol=0, atol=1e-6)
    with torch.no_grad():
        assert float(attack_loss(m, adv, y).sum()) >= float(attack_loss(m, fgsm(m, x, y, 0.1), y).sum()) - 1e-5


def test_restarts_only_lower_robust_accuracy() -> None:
    """A sample is robust only if every restart fails: more restarts (same seed) never raise accuracy."""
    ens = tiny_cnn_ensemble()
    x = torch.rand(40, 16)
    y = predict(ens, x, "vote")  # clean accuracy 100 %
    accs = []
    for r in (1, 3):
        s = AttackSettings(steps=3, restarts=r)
        accs.append(whitebox_accuracy(ens, x, y, "pgd", 0.02, s, torch.Generator().manual_seed(0)))
    assert accs[1] <= accs[0]
    # black-box: the target must survive every surrogate instance
    sur = coterie.Ensemble.from_factory("cnn1d", 2, seed=5, channels=(4, 8), hidden=16, input_length=16).eval()
    one = transfer_accuracy({"t": ens}, sur, x, y, "pgd", 0.2, AttackSettings(steps=3, restarts=1))
    many = transfer_accuracy(
        {"t": ens}, sur, x, y, "pgd", 0.2, AttackSettings(steps=3, restarts=4), torch.Generator().manual_seed(0)
    )
    assert many["t"] <= one["t"] + 0.1  # different random draws; typically strictly lower
    assert transfer_accuracy({"t": ens}, sur, x, y, "bim", 0.0, AttackSettings(steps=2))["t"] == 1.0


def test_attacks_leave_mode_and_parameters_alone() -> None:
    ens = tiny_cnn_ensemble()
    before = [p.clone() for p in ens.parameters()]
    pgd(ens, torch.rand(4, 16), torch.zeros(4, dtype=torch.long), 0.1, steps=2, restarts=2)
    assert not ens.training
    assert all(torch.equal(a, b) for a, b in zip(before, ens.parameters()))
    assert all(p.grad is None for p in ens.parameters())


@pytest.mark.parametrize("eps", [-0.01, 1.5, float("nan")])
def test_bad_eps_fails_before_work(eps: float) -> None:
    calls = []

    class Spy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(1)
            return x

    for fn in (fgsm, bim, mim, pgd):
        with pytest.raises(ValueError, match="eps"):
            fn(Spy(), torch.rand(2, 3), torch.zeros(2, dtype=torch.long), eps)
    assert not calls


def test_other_bad_arguments() -> None:
    m = linear_model()
    x, y = torch.rand(2, 6), torch.zeros(2, dtype=torch.long)
    with pytest.raises(ValueError, match="head"):
        fgsm(m, x, y, 0.1, head="max")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="loss"):
        fgsm(m, x, y, 0.1, loss="hinge")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="steps"):
        bim(m, x, y, 0.1, steps=0)
    with pytest.raises(ValueError, match="restarts"):
        pgd(m, x, y, 0.1, restarts=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        fgsm(m, x + 2, y, 0.1)
    with pytest.raises(ValueError, match="unknown attack"):
        whitebox_accuracy(m, x, y, "cw", 0.1)  # type: ignore[arg-type]
