"""The hand-written ceiling steps of benchmarks/_ceiling.py do coterie's co-learning step's math: two steps of each
(momentum's first and a later step) leave the stacked parameters where two coterie steps leave the members; the
leaf ceiling's members are leaves whose values are those stacked parameters and whose gradients are cleared."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from _ceiling import HandwrittenStep, LeafCeilingStep
from coterie import CoLearning, Ensemble
from coterie.training.optim import build_optimizer


@pytest.mark.parametrize("step_class", [HandwrittenStep, LeafCeilingStep])
@pytest.mark.parametrize(("n", "hidden", "beta"), [(3, (16, 16), -0.2), (2, (9,), 0.3), (4, (), -0.1)])
def test_two_handwritten_steps_equal_two_coterie_steps(n, hidden, beta, step_class) -> None:
    kw = {"in_features": 12, "num_classes": 5, "hidden": hidden}
    x, y = torch.randn(32, 12), torch.randint(0, 5, (32,))
    ens = Ensemble.from_factory("mlp", n, seed=3, executor="loop", **kw)
    members = list(Ensemble.from_factory("mlp", n, seed=3, **kw).members)
    step = step_class(members, beta, x, y)
    opt = build_optimizer(ens.parameters(), "sgd", lr=0.01, momentum=0.9, weight_decay=5e-4)
    for _ in range(2):
        out = CoLearning(beta)(ens, x, y)
        opt.zero_grad()
        out.losses.sum().backward()
        opt.step()
        step()
    for k, v in step.params.items():
        want = torch.stack([m.get_parameter(k).detach() for m in ens.members])
        torch.testing.assert_close(v, want, rtol=1e-5, atol=1e-6)
        if step_class is LeafCeilingStep:  # the leaves are the stacked parameters' slices, their gradients cleared
            for i, m in enumerate(members):
                assert m.get_parameter(k).grad is None
                torch.testing.assert_close(m.get_parameter(k).detach(), v[i], rtol=0, atol=0)
