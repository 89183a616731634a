"""Helpers shared by the diversity objectives (coterie.objectives.common)."""

from __future__ import annotations

import pytest
import torch

from coterie.objectives.common import shared_term_member_losses


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
