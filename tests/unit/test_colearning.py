"""Seed 000 eq. (1)–(3): the co-learning objective."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import CoLearning, Ensemble, Independent
from coterie.objectives.colearning import beta_matrix


def _setup(n=3, b=16, seed=0):
    ens = Ensemble.from_factory("mlp", n, seed=seed, in_features=8, num_classes=4, hidden=(16,))
    g = torch.Generator().manual_seed(seed)
    return ens, torch.randn(b, 8, generator=g), torch.randint(0, 4, (b,), generator=g)


def test_beta_zero_is_sum_of_cross_entropies():
    ens, x, y = _setup()
    a = CoLearning(0.0)(ens, x, y).losses
    b = Independent()(ens, x, y).losses
    torch.testing.assert_close(a, b)
    ref = torch.stack([torch.nn.functional.cross_entropy(m(x), y) for m in ens.members])
    torch.testing.assert_close(a, ref)


def _eq1_reference(logits, y, beta):
    """Literal eq. (1) for each i, with p_j detached (network i treats the others as given)."""
    n = logits.shape[0]
    logp = logits.log_softmax(-1)
    losses = []
    for i in range(n):
        li = torch.nn.functional.nll_loss(logp[i], y)
        for j in range(n):
            if j != i:
                pj = logp[j].detach().exp()
                kl = (pj * (pj.log() - logp[i])).sum(-1).mean()
                li = li + beta[i, j] * kl
        losses.append(li)
    return torch.stack(losses)


def _eq3(logits, y, beta):
    """Eq. (3): −Σ q log p_i + β Σ_j Σ_y p_j log p_i − β Σ_j H[p_j] (uniform β) — p_j constant."""
    n = logits.shape[0]
    logp = logits.log_softmax(-1)
    out = []
    for i in range(n):
        li = torch.nn.functional.nll_loss(logp[i], y)
        for j in range(n):
            if j != i:
                pj = logp[j].detach().exp()
                li = li - beta * (pj * logp[i]).sum(-1).mean() - beta * (-(pj * pj.log()).sum(-1).mean())
        out.append(li)
    return torch.stack(out)


@settings(max_examples=15, deadline=None)
@given(st.floats(-2, 2), st.integers(2, 4))
def test_matches_literal_eq1_and_eq3_gradients(beta, n):
    ens, x, y = _setup(n=n)
    out = CoLearning(beta)(ens, x, y)
    logits = out.logits
    torch.testing.assert_close(out.losses, _eq1_reference(logits, y, beta_matrix(beta, n)), atol=1e-5, rtol=1e-5)
    # eq. (1) (KL form) and eq. (3) give the same gradients with respect to each p_i
    lp = logits.detach().clone().requires_grad_(True)
    g1 = torch.autograd.grad(_eq1_reference(lp, y, beta_matrix(beta, n)).sum(), lp)[0]
    g3 = torch.autograd.grad(_eq3(lp, y, beta).sum(), lp)[0]
    torch.testing.assert_close(g1, g3, atol=1e-6, rtol=1e-5)


def test_other_members_are_constants_in_each_loss():
    """∇ of Σ_k L_k w.r.t. member i equals ∇ of L_i alone: p_j never receives gradient from L_i."""
    ens, x, y = _setup(n=3)
    obj = CoLearning(-0.7)
    total = obj(ens, x, y).losses.sum()
    g_total = torch.autograd.grad(total, list(ens.members[1].parameters()))
    li = obj(ens, x, y).losses[1]
    g_own = torch.autograd.grad(li, list(ens.members[1].parameters()))
    for a, b in zip(g_total, g_own):
        torch.testing.assert_close(a, b)
    # and L_0 does not depend on member 1's parameters at all
    l0 = obj(ens, x, y).losses[0]
    g_cross = torch.autograd.grad(l0, list(ens.members[1].parameters()), allow_unused=True)
    assert all(g is None or float(g.abs().max()) == 0 for g in g_cross)


def test_normalize_divides_by_n_and_matrix_beta():
    ens, x, y = _setup(n=4)
    torch.testing.assert_close(CoLearning(-1.0, normalize=True)(ens, x, y).losses, CoLearning(-0.25)(ens, x, y).losses)
    mat = torch.full((4, 4), 0.3)
    torch.testing.assert_close(CoLearning(mat.tolist())(ens, x, y).losses, CoLearning(0.3)(ens, x, y).losses)
    # a β matrix that couples only member 0 to member 1
    m = torch.zeros(4, 4)
    m[0, 1] = -1.0
    out = CoLearning(m.tolist())(ens, x, y)
    assert float(out.terms["coupling"][0]) < 0
    torch.testing.assert_close(out.terms["coupling"][1:], torch.zeros(3))
    with pytest.raises(ValueError, match="shape"):
        CoLearning([[0.0, 1.0], [1.0, 0.0]])(ens, x, y)


def test_log_floor_only_acts_below_the_floor():
    ens, x, y = _setup(n=3)
    exact = CoLearning(-0.5)(ens, x, y).losses
    # every probability of these small random nets is far above 1e-12: a floor there changes nothing
    torch.testing.assert_close(CoLearning(-0.5, log_floor=-27.6)(ens, x, y).losses, exact)
    # extreme logits: the floored coupling stays bounded by |β|·(N−1)·(−floor + max entropy)
    logits = torch.tensor([[[60.0, 0.0, 0.0]], [[0.0, 60.0, 0.0]], [[0.0, 0.0, 60.0]]])

    class Fixed(torch.nn.Module):
        def forward(self, _x):
            return logits

    out = CoLearning(-1.0, log_floor=-5.0)(Fixed(), torch.zeros(1, 1), torch.tensor([0]))
    assert float(out.terms["coupling"].min()) >= -2 * 5.0 - 1e-4
    assert float(CoLearning(-1.0)(Fixed(), torch.zeros(1, 1), torch.tensor([0])).terms["coupling"].min()) < -100
