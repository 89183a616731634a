"""PGD-50 through coterie against a minimal hand-written PGD loop on the same ensemble, side by side in one run.

Both run one restart from the same random start (same generator seed), 50 steps of ε/5 on the ensemble's mean
probability, L∞ projection and [0, 1] clipping; the outputs are checked to be identical. Target: coterie within
1.1× of the hand-written loop (ratio = coterie / hand ≤ 1.1).

Cases: 3 × cnn1d (MNIST-1D shape, 500 samples) and 3 × LeNet-5 (3×32×32, 128 samples).

Run: ``python benchmarks/attack_speed.py``
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).parent))
from _timing import compare
from coterie import Ensemble
from coterie.attacks import pgd

EPS, STEPS = 0.05, 50


def hand_pgd(ens: Ensemble, x: torch.Tensor, y: torch.Tensor, seed: int) -> torch.Tensor:
    """The textbook loop: random start, sign steps on −log mean probability, project, clip."""
    noise = torch.rand(x.shape, generator=torch.Generator().manual_seed(seed))
    x_adv = (x + (2 * noise - 1) * EPS).clamp(0, 1)
    alpha, log_n = EPS / 5, math.log(len(ens))
    for _ in range(STEPS):
        x_adv.requires_grad_(True)
        logp = torch.logsumexp(ens(x_adv).log_softmax(-1), 0) - log_n
        (g,) = torch.autograd.grad(F.nll_loss(logp, y, reduction="sum"), x_adv)
        x_adv = torch.min(torch.max(x_adv.detach() + alpha * g.sign(), x - EPS), x + EPS).clamp(0, 1)
    return x_adv


def main() -> None:
    cases = {
        "3 × cnn1d, 500 × 40": (Ensemble.from_factory("cnn1d", 3, seed=0, channels=(16, 32, 32), hidden=64), (500, 40)),
        "3 × LeNet-5, 128 × 3×32×32": (Ensemble.from_factory("lenet5", 3, seed=0), (128, 3, 32, 32)),
    }
    print(f"PGD-{STEPS}, one restart, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'case':<32}{'hand ms':>10}{'coterie ms':>12}{'ratio':>8}  target")
    for name, (ens, shape) in cases.items():
        ens.eval()
        x = torch.rand(shape, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            y = ens(x).mean(0).argmax(-1)
        ours = pgd(ens, x, y, EPS, steps=STEPS, restarts=1, generator=torch.Generator().manual_seed(7))
        assert torch.equal(ours, hand_pgd(ens, x, y, 7)), "coterie PGD and the hand-written loop disagree"
        t = compare(
            {
                "hand": lambda ens=ens, x=x, y=y: hand_pgd(ens, x, y, 7),
                "coterie": lambda ens=ens, x=x, y=y: pgd(
                    ens, x, y, EPS, steps=STEPS, restarts=1, generator=torch.Generator().manual_seed(7)
                ),
            },
            rounds=7,
            warmup=1,
        )
        print(f"{name:<32}{t['hand'] * 1e3:>10.1f}{t['coterie'] * 1e3:>12.1f}{t['coterie'] / t['hand']:>7.2f}×  ≤ 1.1×")


if __name__ == "__main__":
    main()
