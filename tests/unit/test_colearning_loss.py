"""The closed-form co-learning loss against autograd through the literal eq. (1), to second order."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from coterie.objectives.colearning import beta_matrix
from coterie.objectives.colearning_loss import colearning_loss


def _literal_eq1(logits: torch.Tensor, y: torch.Tensor, beta: torch.Tensor | None, floor: float | None):
    """L_i = CE_i + Σ_j β_ij KL(p_j ‖ p_i), one pair at a time, p_j detached, log p_i clamped inside the KL."""
    n = logits.shape[0]
    logp = logits.log_softmax(-1)
    out = []
    for i in range(n):
        li = torch.nn.functional.nll_loss(logp[i], y)
        for j in range(n):
            if beta is not None and j != i:
                pj = logp[j].detach().exp()
                lq = logp[i] if floor is None else logp[i].clamp_min(floor)
                li = li + beta[i, j] * (pj * (pj.log() - lq)).sum(-1).mean()
        out.append(li)
    return torch.stack(out)


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
    for fn in (lambda z: colearning_loss(z, y, beta, floor)[0], lambda z: _literal_eq1(z, y, beta, floor)):
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
        kl_ref = torch.stack([torch.stack([(p[j] * (p[j].log() - p[i].log())).sum(-1).mean() for j in range(3)])
                              for i in range(3)])
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
