"""Issue 8 (a) and (b): one co-learning training step, coterie vs a per-member Python loop, measured side by side.

(a) 10 MLP members 40-100-100-10 (MNIST-1D sizes), batch 512 — target ≥ 3×. Rows: coterie's default (``auto`` →
    ``fused``) and the same with ``torch.compile`` (skipped with a note if compilation fails).
(b) 5 LeNet-5 members, batch 512, 3×32×32 — target ≥ 1.1×. coterie's default (``auto`` → ``loop`` with
    channels_last inputs on CPU); vmap shown for information.

The loop baseline does the same math: per member a forward pass, eq. (1) with the other members' probabilities
detached, one backward, one SGD step per member (see ensemble_step.py).

Run: ``python benchmarks/executors.py [--threads 1] [--quick]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _bench import MLP_KW, colearning_case, setup
from _timing import compare, table


def main() -> None:
    args = setup(__doc__.splitlines()[0])
    torch.manual_seed(0)
    b = 512
    x1, y1 = torch.randn(b, 40), torch.randint(0, 10, (b,))
    loop, eager, _ = colearning_case("mlp", 10, x1, y1, **MLP_KW)
    fns = {"loop": loop, "fused": eager}
    _, compiled, cens = colearning_case("mlp", 10, x1, y1, compile=True, **MLP_KW)
    compiled()
    failed = cens._compiled["fused/10"].failed if "fused/10" in cens._compiled else "not used"
    if failed is None:
        fns["compiled"] = compiled
    t = compare(fns, rounds=20 if args.quick else 60, warmup=5)
    rows = [("(a) 10 × MLP, coterie auto (fused)", t["loop"], t["fused"], "≥ 3×")]
    if "compiled" in t:
        rows.append(("(a) 10 × MLP, fused + torch.compile", t["loop"], t["compiled"], "≥ 3×"))
    x2, y2 = torch.rand(b, 3, 32, 32), torch.randint(0, 10, (b,))
    loop2, auto2, _ = colearning_case("lenet5", 5, x2, y2)
    _, vmap2, _ = colearning_case("lenet5", 5, x2, y2, executor="vmap")
    t2 = compare({"loop": loop2, "auto": auto2, "vmap": vmap2}, rounds=4 if args.quick else 10, warmup=1)
    rows += [
        ("(b) 5 × LeNet-5, coterie auto (fused)", t2["loop"], t2["auto"], "≥ 1.1×"),
        ("(b) 5 × LeNet-5, vmap (information)", t2["loop"], t2["vmap"], "-"),
    ]
    print(table("co-learning step, batch 512: per-member loop (baseline) vs coterie", rows))
    if failed is not None:
        print(f"# torch.compile row skipped: {failed}")


if __name__ == "__main__":
    main()
