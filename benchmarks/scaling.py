"""Issue 8 (d): one training epoch for N = 1, 2, 5, 10, 20 MLP members — time per member falls as N grows.

Co-learning (β̄ = −0.5, β = β̄/N) of MLP members 40-100-100-10 on 4000 MNIST-1D-shaped samples, batch 128, through
the Trainer (coterie's default executor). The N cases are interleaved round by round. The "baseline" column is N
times the one-member epoch (N separate runs); the ratio is how much cheaper a member becomes inside an ensemble.

Run: ``python benchmarks/scaling.py [--threads 1] [--quick]``
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _bench import MLP_KW, setup
from _timing import compare, table
from coterie import CoLearning, Ensemble, Trainer

SIZES = (1, 2, 5, 10, 20)
SAMPLES, BATCH = 4000, 128


def main() -> None:
    args = setup(__doc__.splitlines()[0])
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(SAMPLES, 40, generator=g), torch.randint(0, 10, (SAMPLES,), generator=g)

    def epoch(n: int):
        ens = Ensemble.from_factory("mlp", n, seed=0, **MLP_KW)
        tr = Trainer(ens, CoLearning(-0.5, normalize=True), lr=0.01, epochs=1, batch_size=BATCH, progress=False)
        return lambda: tr.fit((x, y), resume=False)

    t = compare({n: epoch(n) for n in SIZES}, rounds=3 if args.quick else 7, warmup=1)
    rows = []
    for n in SIZES:
        rows.append((f"(d) N = {n:>2}: {t[n] / n * 1e3:7.1f} ms per member-epoch", n * t[1], t[n], "falls with N"))
    title = f"one epoch ({SAMPLES} samples, batch {BATCH}): N one-member runs (baseline) vs one N-member run"
    print(table(title, rows))
    per = [t[n] / n for n in SIZES]
    falls = all(b <= a * 1.05 for a, b in itertools.pairwise(per))
    print(f"# time per member falls as N grows (5% noise allowance): {'yes' if falls else 'NO'}")


if __name__ == "__main__":
    main()
