"""Shared setup for the issue-8 benchmarks: command-line flags, thread count, a header naming the conditions, and
the co-learning step cases (coterie vs a per-member loop) used by several tables."""

from __future__ import annotations

import argparse
import os
import platform
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from coterie import CoLearning, Ensemble
from coterie.training.optim import build_optimizer
from coterie.utils.allocator import keep_freed_memory
from ensemble_step import bench_beta, coterie_step, loop_step

MLP_KW = {"in_features": 40, "num_classes": 10, "hidden": (100, 100)}


def setup(description: str, extra: Sequence[tuple[str, str]] = ()) -> argparse.Namespace:
    """Parse ``--threads`` (default: $COTERIE_BENCH_THREADS or torch's default), ``--quick`` and any ``extra``
    (flag, help) switches; print a header."""
    ap = argparse.ArgumentParser(description=description)
    for flag, help_text in extra:
        ap.add_argument(flag, action="store_true", help=help_text)
    ap.add_argument("--threads", type=int, default=int(os.environ.get("COTERIE_BENCH_THREADS", "0")))
    ap.add_argument("--quick", action="store_true", help="fewer rounds (noisier)")
    ap.add_argument("--device", default="cpu", help="cpu or cuda (the tensors and every method's members go there)")
    ap.add_argument(
        "--release-freed-memory",
        action="store_true",
        help="leave glibc's default of returning freed blocks to the OS (the `coterie` command keeps them)",
    )
    args = ap.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda: CUDA is not available on this machine")
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    # As the `coterie` command does at start-up (coterie.utils.allocator); process-wide, so the loop baseline
    # measured beside coterie runs under the same allocator settings.
    kept = False if args.release_freed_memory else keep_freed_memory()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, "
        f"load average {load:.1f}, {platform.processor() or platform.machine()}, "
        f"freed memory {'kept (mallopt)' if kept else 'returned to the OS (glibc default)'}"
        + (f", device {torch.cuda.get_device_name(args.device)}" if args.device.startswith("cuda") else "")
    )
    return args


def colearning_case(
    name: str, n: int, x: torch.Tensor, y: torch.Tensor, compile: bool = False, executor: str = "auto", **kw
):
    """(loop step, coterie step, coterie ensemble) for a co-learning step of ``n`` members, β = −0.5/n, SGD."""
    beta = bench_beta(n)
    ens = Ensemble.from_factory(name, n, seed=0, compile=compile, executor=executor, **kw).to(x.device)
    ref = Ensemble.from_factory(name, n, seed=0, executor="loop", **kw).to(x.device)
    members = list(ref.members)
    opt = build_optimizer(ens.parameters(), "sgd", lr=0.01, momentum=0.9, weight_decay=5e-4)
    opts = [torch.optim.SGD(m.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4) for m in members]
    return loop_step(members, beta, opts, x, y), coterie_step(ens, CoLearning(beta), opt, x, y), ens
