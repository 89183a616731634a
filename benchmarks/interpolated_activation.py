"""Exported (interpolated) activation vs its learned sub-network on 10^6 inputs, measured side by side.

Seed 004 freezes each meta-learned activation (a 1 → 50 → 1 sub-network per scalar) into a table of 100 samples on
[-10, 10]. This benchmark times the forward pass of the sub-network and of its exports (linear and cubic, 100
points; linear, 1000 points) on the same 10^6 inputs, interleaving the candidates round by round and reporting
medians, and checks each export's largest error against the sub-network on the sampled range.

    python benchmarks/interpolated_activation.py [--n 1000000] [--repeats 15] [--threads 0]

Target: the exported activation at least 5× faster than the sub-network, matching it within 1e-3 on the range
(the 100-point linear table meets 1e-3 only where the activation bends gently; the cubic table meets it).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from coterie.neurons import LearnedActivation, export_activation


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: leave torch's default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    sub = LearnedActivation("sin", hidden=50)
    nn.init.normal_(sub.fc_out.weight, std=0.2)  # a sub-network moved away from its base, as after meta-learning
    nn.init.normal_(sub.fc_out.bias, std=0.2)
    candidates = {
        "sub-network 1→50→1": sub,
        "linear, 100 points": export_activation(sub, 100, -10, 10, "linear"),
        "cubic, 100 points": export_activation(sub, 100, -10, 10, "cubic"),
        "linear, 1000 points": export_activation(sub, 1000, -10, 10, "linear"),
    }
    x = torch.empty(args.n).uniform_(-10, 10, generator=torch.Generator().manual_seed(1))
    times: dict[str, list[float]] = {k: [] for k in candidates}
    with torch.no_grad():
        ref = sub(x)
        errors = {k: float((f(x) - ref).abs().max()) for k, f in candidates.items()}
        for f in candidates.values():  # warm-up
            f(x)
        for _ in range(args.repeats):
            for k, f in candidates.items():
                t0 = time.perf_counter()
                f(x)
                times[k].append(time.perf_counter() - t0)
    base = statistics.median(times["sub-network 1→50→1"])
    print(
        f"forward pass on {args.n:,} inputs in [-10, 10], torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, median of {args.repeats} interleaved rounds"
    )
    print(f"| {'activation':<22} | {'median ms':>9} | {'speed-up vs sub-network':>23} | {'max |error| on range':>20} |")
    print(f"|{'-' * 24}|{'-' * 11}|{'-' * 25}|{'-' * 22}|")
    for k in candidates:
        med = statistics.median(times[k])
        print(f"| {k:<22} | {med * 1e3:>9.2f} | {base / med:>22.1f}× | {errors[k]:>20.2e} |")


if __name__ == "__main__":
    main()
