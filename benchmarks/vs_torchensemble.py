"""Issue 8 (c): training throughput, coterie vs torchensemble's VotingClassifier, on the same members and data.

Both train 10 independent MLP members 40-100-100-10 with cross-entropy and SGD (lr 0.01, momentum 0.9) on 4000
MNIST-1D-shaped samples (40 features, 10 classes) for one epoch at batch 128; each timed round builds a fresh
ensemble and runs one epoch, and the two are interleaved round by round. torchensemble trains its members one after
another, each over its own pass of the DataLoader (joblib, n_jobs=1); coterie runs one pass with the members fused.
Target ≥ 2× samples·members per second.

torchensemble is not a coterie dependency: install it into the benchmark environment only, with
``pip install --no-deps torchensemble`` (it needs no torchvision at run time). Without it this table is skipped.

Run: ``python benchmarks/vs_torchensemble.py [--threads 1] [--quick]``
"""

from __future__ import annotations

import contextlib
import io
import logging
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _bench import MLP_KW, setup
from _timing import compare, table
from coterie import Ensemble, Independent, Trainer
from coterie.models.mlp import MLP

N, SAMPLES, BATCH = 10, 4000, 128


def main() -> None:
    args = setup(__doc__.splitlines()[0])
    try:
        from torchensemble import VotingClassifier
    except ImportError:
        print("(c) SKIPPED: torchensemble is not installed (pip install --no-deps torchensemble)")
        return
    logging.getLogger("torchensemble").setLevel(logging.ERROR)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(SAMPLES, 40, generator=g), torch.randint(0, 10, (SAMPLES,), generator=g)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=BATCH, shuffle=True)

    def torchensemble_epoch() -> None:
        model = VotingClassifier(estimator=MLP, estimator_args=dict(MLP_KW), n_estimators=N, cuda=False, n_jobs=1)
        model.set_optimizer("SGD", lr=0.01, momentum=0.9)
        with contextlib.redirect_stdout(io.StringIO()):
            model.fit(loader, epochs=1, log_interval=10**9, save_model=False)

    def coterie_epoch() -> None:
        ens = Ensemble.from_factory("mlp", N, seed=0, **MLP_KW)
        Trainer(ens, Independent(), lr=0.01, momentum=0.9, epochs=1, batch_size=BATCH, progress=False).fit((x, y))

    fns = {"torchensemble": torchensemble_epoch, "coterie": coterie_epoch}
    t = compare(fns, rounds=3 if args.quick else 8, warmup=1)
    rows = [(f"(c) {N} × MLP, 1 epoch of {SAMPLES} samples, batch {BATCH}", t["torchensemble"], t["coterie"], "≥ 2×")]
    print(table("training throughput: torchensemble VotingClassifier (baseline) vs coterie Trainer", rows))
    for k, v in t.items():
        print(f"# {k}: {N * SAMPLES / v:,.0f} member-samples/s")


if __name__ == "__main__":
    main()
