"""The benchmarks' plain-PyTorch baselines do the same math as coterie's co-learning step (an honest comparison)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from baselines import colearning_losses, competent_loop_step, vmap_step
from coterie import CoLearning, Ensemble
from coterie.training.optim import build_optimizer

KW = {"in_features": 12, "num_classes": 5, "hidden": (16, 16)}


def _members(n: int) -> list[torch.nn.Module]:
    return list(Ensemble.from_factory("mlp", n, seed=3, executor="loop", **KW).members)


def test_vectorised_loss_equals_the_pairwise_sum() -> None:
    """Literal eq. (1): L_i = CE_i + β Σ_{j≠i} mean_x Σ_c p_j (log p_j − log p_i)."""
    g = torch.Generator().manual_seed(0)
    logits, y = torch.randn(4, 7, 5, generator=g, dtype=torch.float64), torch.randint(0, 5, (7,), generator=g)
    logp = logits.log_softmax(-1)
    want = torch.stack(
        [
            torch.nn.functional.nll_loss(logp[i], y)
            + 0.3 * sum((logp[j].exp() * (logp[j] - logp[i])).sum(-1).mean() for j in range(4) if j != i)
            for i in range(4)
        ]
    )
    torch.testing.assert_close(colearning_losses(logits, y, 0.3), want)


@pytest.mark.parametrize("baseline", [competent_loop_step, vmap_step])
def test_one_step_of_each_baseline_updates_members_as_coterie_does(baseline) -> None:
    n, beta = 3, -0.2
    x, y = torch.randn(32, 12), torch.randint(0, 5, (32,))
    ens = Ensemble.from_factory("mlp", n, seed=3, executor="loop", **KW)
    opt = build_optimizer(ens.parameters(), "sgd", lr=0.01, momentum=0.9, weight_decay=5e-4)
    out = CoLearning(beta)(ens, x, y)
    opt.zero_grad()
    out.losses.sum().backward()
    opt.step()
    members = _members(n)
    step = baseline(members, beta, x, y)
    step()
    if baseline is vmap_step:  # the recipe trains stacked (N, ...) copies of the parameters
        for k, v in step.params.items():
            want = torch.stack([dict(m.named_parameters())[k].detach() for m in ens.members])
            torch.testing.assert_close(v, want, rtol=1e-5, atol=1e-6)
    else:
        for m_ref, m in zip(ens.members, members):
            for p_ref, p in zip(m_ref.parameters(), m.parameters()):
                torch.testing.assert_close(p, p_ref, rtol=1e-5, atol=1e-6)
