"""PARL training-step cost, measured side by side in one run (ratios only; absolute times vary with the machine).

Cases (issue 4):

* per-member cost of a PARL step (K = 3) for N = 2, 4, 8 members, relative to N = 2 — target ≤ 1.3×: input
  gradients are computed once per member and layer and reused for every pair, so the cost is linear in N (the
  pairwise cosines are one N × N matrix product);
* a PARL step with K = 3 against an independent (cross-entropy) step on the same members — target ≤ 4×.

Members: the CPU-scale study's 1-D CNN (three convolutions 16/32/32, FC 64) on MNIST-1D-shaped input (40), batch 128;
each step is objective + backward + Adam update.

Run: ``python benchmarks/parl_step.py``
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _timing import compare
from coterie import PARL, Ensemble, Independent
from coterie.objectives.base import Objective

MODEL = {"channels": (16, 32, 32), "hidden": 64}
BATCH = 128


def step_fn(n: int, objective: Objective):
    ens = Ensemble.from_factory("cnn1d", n, seed=0, executor="loop", **MODEL)
    opt = torch.optim.Adam(ens.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(n)
    x, y = torch.rand(BATCH, 40, generator=g), torch.randint(0, 10, (BATCH,), generator=g)

    def step() -> None:
        out = objective(ens, x, y)
        opt.zero_grad(set_to_none=True)
        out.losses.sum().backward()
        opt.step()

    return step


def main() -> None:
    torch.manual_seed(0)
    t = compare(
        {
            "parl N=2": step_fn(2, PARL(layers=3)),
            "parl N=4": step_fn(4, PARL(layers=3)),
            "parl N=8": step_fn(8, PARL(layers=3)),
            "independent N=3": step_fn(3, Independent()),
            "parl N=3": step_fn(3, PARL(layers=3)),
        },
        rounds=9,
        warmup=2,
    )
    per2 = t["parl N=2"] / 2
    print(
        f"PARL step (K=3, cnn1d 16/32/32, batch {BATCH}), torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print(f"{'case':<40}{'ms/step':>10}{'ms/member':>11}{'ratio':>8}  target")
    for n in (2, 4, 8):
        tn = t[f"parl N={n}"]
        case = f"PARL per member, N={n} vs N=2"
        print(f"{case:<40}{tn * 1e3:>10.2f}{tn / n * 1e3:>11.2f}{tn / n / per2:>7.2f}×  ≤ 1.3×")
    ind, par = t["independent N=3"], t["parl N=3"]
    print(f"{'independent step, N=3':<40}{ind * 1e3:>10.2f}{ind / 3 * 1e3:>11.2f}{1.0:>7.2f}×")
    print(f"{'PARL K=3 step vs independent, N=3':<40}{par * 1e3:>10.2f}{par / 3 * 1e3:>11.2f}{par / ind:>7.2f}×  ≤ 4×")


if __name__ == "__main__":
    main()
