"""Seed 000 eq. (1)–(3): the co-learning objective, and the closed-form loss behind it (colearning_loss)."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie import CoLearning, Ensemble, Independent
from coterie.objectives.colearning import beta_matrix
from coterie.objectives.colearning_loss import colearning_loss


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


def _eq1_reference(logits, y, beta, floor=None):
    """Literal eq. (1) for each i, with p_j detached (network i treats the others as given); ``beta`` None: no
    coupling; ``floor``: log p_i clamped from below inside the KL."""
    n = logits.shape[0]
    logp = logits.log_softmax(-1)
    losses = []
    for i in range(n):
        li = torch.nn.functional.nll_loss(logp[i], y)
        for j in range(n):
            if beta is not None and j != i:
                pj = logp[j].detach().exp()
                lq = logp[i] if floor is None else logp[i].clamp_min(floor)
                kl = (pj * (pj.log() - lq)).sum(-1).mean()
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


# ---- colearning_loss: the closed-form backward behind CoLearning, to second order


def _logits(n: int, b: int, c: int, scale: float, class_major: bool, seed: int) -> torch.Tensor:
    z = torch.randn(n, b, c, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * scale
    return z.transpose(1, 2).contiguous().transpose(1, 2) if class_major else z


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 5),
    b=st.integers(1, 9),
    c=st.integers(2, 6),
    coupling=st.sampled_from(["none", "uniform", "matrix"]),
    floor=st.sampled_from([None, -2.0]),
    class_major=st.booleans(),
    seed=st.integers(0, 10_000),
)
def test_losses_gradients_and_hessian_products_equal_the_literal_eq1(n, b, c, coupling, floor, class_major, seed):
    z0 = _logits(n, b, c, 4.0, class_major, seed)  # scale 4: some log p fall below the floor
    gen = torch.Generator().manual_seed(seed + 1)
    y = torch.randint(0, c, (b,), generator=gen)
    beta = {
        "none": None,
        "uniform": beta_matrix(-0.3, n).double(),
        "matrix": torch.randn(n, n, generator=gen, dtype=torch.float64).fill_diagonal_(0.0),
    }[coupling]
    w, v = torch.randn(n, generator=gen, dtype=torch.float64), torch.randn(n, b, c, generator=gen, dtype=torch.float64)
    results = []
    for fn in (lambda z: colearning_loss(z, y, beta, floor)[0], lambda z: _eq1_reference(z, y, beta, floor)):
        z = z0.clone().requires_grad_(True)
        losses = fn(z)
        (g,) = torch.autograd.grad((losses * w).sum(), z, create_graph=True)
        (hv,) = torch.autograd.grad((g * v).sum(), z)
        results.append((losses.detach(), g.detach(), hv))
    for ours, ref in zip(*results):
        torch.testing.assert_close(ours, ref, rtol=1e-10, atol=1e-12)


def test_parts_match_and_gradient_keeps_the_logits_layout() -> None:
    y = torch.tensor([0, 2, 1])
    beta = beta_matrix(0.25, 3)
    for class_major in (False, True):
        z = _logits(3, 3, 4, 2.0, class_major, 0).float().requires_grad_(True)
        losses, ce, coupling, kl = colearning_loss(z, y, beta)
        torch.testing.assert_close(losses, ce + coupling)
        torch.testing.assert_close(ce, torch.stack([torch.nn.functional.cross_entropy(zi, y) for zi in z]))
        p = z.detach().softmax(-1)
        kl_ref = torch.stack(
            [torch.stack([(p[j] * (p[j].log() - p[i].log())).sum(-1).mean() for j in range(3)]) for i in range(3)]
        )
        torch.testing.assert_close(kl, kl_ref)
        assert kl.diagonal().abs().max() < 1e-6  # KL(p‖p) = 0
        assert not ce.requires_grad and not coupling.requires_grad and not kl.requires_grad
        losses.sum().backward()
        assert z.grad.stride() == z.stride()


def test_without_coupling_gradcheck_passes_and_kl_is_none() -> None:
    y = torch.tensor([1, 0, 3, 3])
    z = _logits(2, 4, 5, 1.0, True, 1).requires_grad_(True)
    assert colearning_loss(z, y)[3] is None
    torch.autograd.gradcheck(lambda t: colearning_loss(t, y)[0], (z,))
    torch.autograd.gradgradcheck(lambda t: colearning_loss(t, y)[0], (z,))


def test_bad_shapes_raise() -> None:
    with pytest.raises(ValueError, match=r"\(N, B, C\)"):
        colearning_loss(torch.zeros(4, 3), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="labels"):
        colearning_loss(torch.zeros(2, 4, 3), torch.zeros(5, dtype=torch.long))


@pytest.mark.parametrize("floor", [None, -1.5])
@pytest.mark.parametrize("class_major", [False, True])
def test_gradcheck_with_a_coupling_matrix_and_a_floor(floor, class_major) -> None:
    """torch.autograd.gradcheck (float64, finite differences) of the closed-form backward with coupling on. In L_i
    the others' p_j are constants (∂L_i/∂z_j = 0 by design, not the finite difference), so each member's loss is
    checked against its own logits z_i with the others' fixed. Scale 3: some log p_i lie below the floor (none within
    the finite-difference step of it, for this seed)."""
    gen = torch.Generator().manual_seed(5)
    z = _logits(3, 6, 4, 3.0, False, 5)
    y = torch.randint(0, 4, (6,), generator=gen)
    beta = torch.randn(3, 3, generator=gen, dtype=torch.float64).fill_diagonal_(0.0)
    if floor is not None:
        assert bool((z.log_softmax(-1) < floor).any())

    def own_loss(zi: torch.Tensor, i: int) -> torch.Tensor:
        full = torch.cat([z[:i], zi.unsqueeze(0), z[i + 1 :]])
        full = full.transpose(1, 2).contiguous().transpose(1, 2) if class_major else full
        return colearning_loss(full, y, beta, floor)[0][i]

    for i in range(3):
        torch.autograd.gradcheck(lambda zi, i=i: own_loss(zi, i), (z[i].clone().requires_grad_(True),))


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 4), b=st.integers(1, 8), c=st.integers(2, 5), seed=st.integers(0, 10_000))
def test_per_member_labels_match_literal_cross_entropies(n, b, c, seed) -> None:
    """Labels (N, B), one batch per member (no coupling): losses and gradients are autograd's through the literal
    per-member cross-entropies."""
    gen = torch.Generator().manual_seed(seed)
    z0 = torch.randn(n, b, c, generator=gen, dtype=torch.float64) * 3
    y = torch.randint(0, c, (n, b), generator=gen)
    w = torch.randn(n, generator=gen, dtype=torch.float64)
    z, zr = z0.clone().requires_grad_(True), z0.clone().requires_grad_(True)
    losses = colearning_loss(z, y)[0]
    ref = torch.stack([torch.nn.functional.cross_entropy(zr[i], y[i]) for i in range(n)])
    torch.testing.assert_close(losses, ref, rtol=1e-12, atol=1e-12)
    (losses * w).sum().backward()
    (ref * w).sum().backward()
    torch.testing.assert_close(z.grad, zr.grad, rtol=1e-10, atol=1e-12)
    torch.autograd.gradcheck(lambda t: colearning_loss(t, y)[0], (z0.clone().requires_grad_(True),))
