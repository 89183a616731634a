"""Issue 8 (e): achieved GFLOP/s of the co-learning steps of (a) and (b), against the machine's fp32 matmul rate.

FLOPs of one step (forward and backward; matrix products and convolutions) are counted exactly with
``torch.utils.flop_counter.FlopCounterMode``; the steps and a 1024×1024×1024 fp32 matrix product (the reference
rate, measured in the same run, interleaved) are timed side by side. DESIGN.md records about 200 GFLOP/s for the
matrix product on the quiet 2-core machine.

Run: ``python benchmarks/flops.py [--threads 1] [--quick]``
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _bench import MLP_KW, colearning_case, setup
from _timing import compare


def count(fn) -> int:
    with FlopCounterMode(display=False) as fc:
        fn()
    return fc.get_total_flops()


def main() -> None:
    args = setup(__doc__.splitlines()[0])
    torch.manual_seed(0)
    b = 512
    x1, y1 = torch.randn(b, 40), torch.randint(0, 10, (b,))
    x2, y2 = torch.rand(b, 3, 32, 32), torch.randint(0, 10, (b,))
    loop_a, step_a, _ = colearning_case("mlp", 10, x1, y1, **MLP_KW)
    loop_b, step_b, _ = colearning_case("lenet5", 5, x2, y2)
    a, c = torch.randn(1024, 1024), torch.randn(1024, 1024)
    # The fused LeNet-5 step does the loop's convolutions and products (its conv2 grouped), but torch 2.13's
    # FlopCounterMode overcounts grouped-convolution backward (7.37 instead of 2.46 GFLOP for conv2 at groups = 5),
    # so both LeNet-5 rows are credited with the loop's count.
    fl = {"matmul": 2 * 1024**3, "a": count(step_a), "a_loop": count(loop_a), "b_loop": count(loop_b)}
    fl["b"] = fl["b_loop"]
    t = compare({"matmul": lambda: a @ c, "a": step_a, "a_loop": loop_a}, rounds=15 if args.quick else 40)
    tb = compare({"matmul": lambda: a @ c, "b": step_b, "b_loop": loop_b}, rounds=4 if args.quick else 10, warmup=1)
    print("achieved fp32 GFLOP/s, measured side by side with a 1024³ matrix product")
    print(f"{'case':<44}{'GFLOP/step':>11}{'ms':>9}{'GFLOP/s':>9}{'of matmul':>11}")
    rate_a, rate_b = fl["matmul"] / t["matmul"], fl["matmul"] / tb["matmul"]
    for name, key, tt, ref in (
        ("1024³ matmul (reference, with (a))", "matmul", t, rate_a),
        ("(a) 10 × MLP step, coterie (fused)", "a", t, rate_a),
        ("(a) 10 × MLP step, per-member loop", "a_loop", t, rate_a),
        ("1024³ matmul (reference, with (b))", "matmul", tb, rate_b),
        ("(b) 5 × LeNet-5 step, coterie (fused)", "b", tb, rate_b),
        ("(b) 5 × LeNet-5 step, per-member loop", "b_loop", tb, rate_b),
    ):
        rate = fl[key] / tt[key]
        print(f"{name:<44}{fl[key] / 1e9:>11.3f}{tt[key] * 1e3:>9.2f}{rate / 1e9:>9.1f}{rate / ref:>10.0%}")


if __name__ == "__main__":
    main()
