"""One co-learning training step: coterie (Ensemble + CoLearning + one optimiser) vs plain-PyTorch baselines.

Cases: 10 MLP members 40-100-100-10 at batch 512, and 5 LeNet-5 members at batch 512 on 3×32×32 inputs. Baselines
(baselines.py): the competent loop (one fused SGD, the loss vectorised over members; the headline), the vmap recipe of
PyTorch's model-ensembling tutorial, and the naive loop below (one optimiser per member, a per-member loss loop), all
doing the same math. executors.py holds the targets and the steady-state regime; this is the quick single-call view.

Run: ``python benchmarks/ensemble_step.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _timing import compare, table
from baselines import competent_loop_step, vmap_step
from coterie import CoLearning, Ensemble
from coterie.training.optim import build_optimizer


def coterie_step(ens: Ensemble, obj: CoLearning, opt: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor):
    def step() -> None:
        out = obj(ens, x, y)
        opt.zero_grad(set_to_none=True)
        out.losses.sum().backward()
        opt.step()

    return step


BETA_BAR = -0.5  # every benchmarked co-learning step couples its n members at β = β̄ / n


def bench_beta(n: int) -> float:
    """The benchmarks' coupling for ``n`` members, β = −0.5 / n (β̄ = −0.5)."""
    return BETA_BAR / n


def loop_step(members: list[torch.nn.Module], beta: float, opts: list, x: torch.Tensor, y: torch.Tensor):
    n = len(members)

    def step() -> None:
        logps = [F.log_softmax(m(x), -1) for m in members]
        ps = [lp.detach().exp() for lp in logps]
        total = 0.0
        for i in range(n):
            li = F.nll_loss(logps[i], y)
            for j in range(n):
                if j != i:
                    li = li + beta * (ps[j] * (ps[j].clamp_min(1e-12).log() - logps[i])).sum(-1).mean()
            total = total + li
        for o in opts:
            o.zero_grad(set_to_none=True)
        total.backward()
        for o in opts:
            o.step()

    return step


def case(name: str, n: int, x: torch.Tensor, y: torch.Tensor, rounds: int, **kw) -> dict[str, float]:
    beta = bench_beta(n)
    ens = Ensemble.from_factory(name, n, seed=0, **kw)
    ref = Ensemble.from_factory(name, n, seed=0, executor="loop", **kw)
    members = list(ref.members)
    opt = build_optimizer(ens.parameters(), "sgd", lr=0.01, momentum=0.9, weight_decay=5e-4)
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4) for m in members]
    fresh = lambda: list(Ensemble.from_factory(name, n, seed=0, executor="loop", **kw).members)  # noqa: E731
    fns = {
        "naive loop": loop_step(members, beta, opts, x, y),
        "competent loop": competent_loop_step(fresh(), beta, x, y),
        "vmap recipe": vmap_step(fresh(), beta, x, y),
        "coterie": coterie_step(ens, CoLearning(beta), opt, x, y),
    }
    return compare(fns, rounds=rounds)


def main() -> None:
    torch.manual_seed(0)
    b = 512
    x1, y1 = torch.randn(b, 40), torch.randint(0, 10, (b,))
    mlp = case("mlp", 10, x1, y1, rounds=60, in_features=40, num_classes=10, hidden=(100, 100))
    x2, y2 = torch.rand(b, 3, 32, 32), torch.randint(0, 10, (b,))
    lenet = case("lenet5", 5, x2, y2, rounds=8)
    rows = [
        (f"{case_name} vs {base}", t[base], t["coterie"], "-")
        for case_name, t in (("10 × MLP 40-100-100-10", mlp), ("5 × LeNet-5 3×32×32", lenet))
        for base in ("competent loop", "vmap recipe", "naive loop")
    ]
    print(table(f"co-learning step, batch {b}, torch {torch.__version__}, {torch.get_num_threads()} threads", rows))


if __name__ == "__main__":
    main()
