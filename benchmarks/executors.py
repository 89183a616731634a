"""One co-learning training step (seed 000 eq. 1), coterie vs plain-PyTorch baselines, measured side by side.

(a) 10 MLP members 40-100-100-10 (MNIST-1D sizes), batch 512 — target ≥ 1.8× the competent loop.
(b) 5 LeNet-5 members, batch 512, 3×32×32 — target ≥ 1.1× the competent loop.
Never slower than the vmap recipe. Baselines (baselines.py): the *competent loop* (members in a loop, the loss
vectorised over members, one fused SGD), the *vmap recipe* of PyTorch's model-ensembling tutorial
(stack_module_state + vmap(functional_call)), and the *naive loop* (one optimiser per member, the loss summed member
by member) for information. All do the same math as coterie (the others' probabilities detached). The last column of
the (a) rows reads coterie's step as a multiple of its matrix products alone (the floor), and of the same step written
by hand with no autograd (the ceiling, _ceiling.py), and of that step with the members' leaf parameters added (the
leaf ceiling: one autograd node hands the 60 leaf gradients, which are cleared after the update): competent loop ÷
leaf ceiling bounds what any step that keeps coterie's interface (member leaves, objective, optimiser) can reach.

Two timing regimes, both interleaved round by round so machine noise hits every method alike (``_timing.compare``):
the first table is the steady state of a training loop (each round runs a method several times in a row and times
all but the first call, so a step follows the same step); the second interleaves single calls, so every step
starts on the caches the other method left (cold caches, which a training loop never sees). The fused MLP step is
memory-bound enough to lose ~15-20% in the second regime; the loop, dominated by per-op overhead, hardly changes.

Run: ``python benchmarks/executors.py [--threads 1] [--quick] [--device cuda] [--mlp-only]`` (on CUDA every
method's members and tensors live on the GPU and each timed call waits for its kernels). One process's ratio is one
draw of a noisy yardstick: ``executors_spread.py`` runs case (a) in several fresh processes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from coterie import Ensemble

sys.path.insert(0, str(Path(__file__).parent))
from _bench import MLP_KW, colearning_case, setup
from _ceiling import HandwrittenStep, LeafCeilingStep
from _timing import compare, table
from baselines import competent_loop_step, vmap_step
from ensemble_step import bench_beta


def gemm_floor(n: int, x: torch.Tensor, dims: tuple[int, ...]):
    """The fused step's matrix products alone (forward, weight and input gradients, ReLU masks), with no autograd,
    loss or optimiser: a floor for what any implementation of (a) can reach on this machine."""
    ws = [torch.randn(n, dims[k + 1], dims[k], device=x.device) * 0.1 for k in range(len(dims) - 1)]
    bs = [torch.randn(n, dims[k + 1], 1, device=x.device) for k in range(len(dims) - 1)]

    def step() -> None:
        hs, h = [], x.t()
        for k, (w, b) in enumerate(zip(ws, bs)):
            hs.append(h)
            if k == 0:
                h = torch.addmm(b.reshape(-1, 1), w.reshape(-1, w.shape[2]), h).view(n, w.shape[1], -1).relu_()
            else:
                h = torch.baddbmm(b, w, h)
                h = h.relu_() if k < len(ws) - 1 else h
        g = h  # stands in for the (N, C, B) logits gradient
        for k in range(len(ws) - 1, -1, -1):
            if k == 0:
                torch.mm(g.reshape(-1, g.shape[2]), hs[0].t())
            else:
                torch.bmm(g, hs[k].transpose(1, 2))
                g = torch.bmm(ws[k].transpose(1, 2), g)
                torch.ops.aten.threshold_backward.grad_input(g, hs[k], 0.0, grad_input=g)
            g.sum(2)

    return step


def baselines(name: str, n: int, x: torch.Tensor, y: torch.Tensor, **kw) -> dict:
    """The competent-loop and vmap-recipe steps, each on its own freshly built members (same seeds as coterie's)."""
    beta = bench_beta(n)
    fresh = lambda: list(Ensemble.from_factory(name, n, seed=0, executor="loop", **kw).to(x.device).members)  # noqa: E731
    return {"competent": competent_loop_step(fresh(), beta, x, y), "vmap": vmap_step(fresh(), beta, x, y)}


def ratio_rows(case: str, t: dict[str, float], ours: str, target: str) -> list[tuple[str, float, float, str]]:
    """coterie's step against each baseline, the competent loop first (the headline)."""
    return [
        (f"{case} vs competent loop", t["competent"], t[ours], target),
        (f"{case} vs vmap recipe", t["vmap"], t[ours], "≥ 1×"),
        (f"{case} vs naive loop (info)", t["loop"], t[ours], "-"),
    ]


def main() -> None:
    args = setup(__doc__.splitlines()[0], extra=[("--mlp-only", "case (a) only (executors_spread.py runs it often)")])
    torch.manual_seed(0)
    b = 512
    dev = torch.device(args.device)
    x1, y1 = torch.randn(b, 40).to(dev), torch.randint(0, 10, (b,)).to(dev)
    loop, eager, _ = colearning_case("mlp", 10, x1, y1, **MLP_KW)
    fns = {"loop": loop, **baselines("mlp", 10, x1, y1, **MLP_KW), "fused": eager}
    _, compiled, cens = colearning_case("mlp", 10, x1, y1, compile=True, **MLP_KW)
    compiled()
    failed = cens._compiled["fused/10"].failed if "fused/10" in cens._compiled else "not used"
    if failed is None:
        fns["compiled"] = compiled
    floor = gemm_floor(10, x1, (40, 100, 100, 10))  # steady-state table only: it has no cold-cache counterpart
    members = list(Ensemble.from_factory("mlp", 10, seed=0, executor="loop", **MLP_KW).to(dev).members)
    ceiling = HandwrittenStep(members, bench_beta(10), x1, y1)  # the step with no autograd and no library (_ceiling.py)
    leaves = list(Ensemble.from_factory("mlp", 10, seed=0, executor="loop", **MLP_KW).to(dev).members)
    leaf_ceiling = LeafCeilingStep(leaves, bench_beta(10), x1, y1)  # the same plus what member leaves cost
    bounds = {"floor": floor, "ceiling": ceiling, "leaf_ceiling": leaf_ceiling}
    t = compare({**fns, **bounds}, rounds=8 if args.quick else 20, warmup=5, block=4)
    cold = compare(fns, rounds=20 if args.quick else 60, warmup=0)
    rows = ratio_rows("(a) 10 × MLP, coterie (fused)", t, "fused", "≥ 1.8×")
    rows_cold = ratio_rows("(a) 10 × MLP, coterie (fused)", cold, "fused", "-")
    if "compiled" in t:
        rows.append(("(a) fused + torch.compile vs competent loop", t["competent"], t["compiled"], "-"))
    floor_row = ("(a) coterie step ÷ its matrix products alone", t["fused"], t["floor"], "floor = 1×")
    ceiling_rows = [
        ("(a) ceiling: competent loop vs hand-written step", t["competent"], t["ceiling"], "bound"),
        ("(a) coterie step ÷ hand-written step (no autograd)", t["fused"], t["ceiling"], "ceiling = 1×"),
        ("(a) leaf ceiling: competent loop vs step with leaves", t["competent"], t["leaf_ceiling"], "bound"),
        ("(a) coterie step ÷ hand-written step with leaves", t["fused"], t["leaf_ceiling"], "ceiling = 1×"),
    ]
    rows += [floor_row, *ceiling_rows]
    if not args.mlp_only:
        x2, y2 = torch.rand(b, 3, 32, 32).to(dev), torch.randint(0, 10, (b,)).to(dev)
        loop2, auto2, _ = colearning_case("lenet5", 5, x2, y2)
        fns2 = {"loop": loop2, **baselines("lenet5", 5, x2, y2), "auto": auto2}
        t2 = compare(fns2, rounds=3 if args.quick else 6, warmup=1, block=3)
        cold2 = compare(fns2, rounds=4 if args.quick else 10, warmup=0)
        rows += ratio_rows("(b) 5 × LeNet-5, coterie (fused)", t2, "auto", "≥ 1.1×")
        rows_cold += ratio_rows("(b) 5 × LeNet-5, coterie (fused)", cold2, "auto", "-")
    print(table("co-learning step, batch 512: plain-PyTorch baselines vs coterie, steady state", rows))
    print()
    print(table("the same, single calls interleaved (every step starts on the other method's caches)", rows_cold))
    if failed is not None:
        print(f"# torch.compile row skipped: {failed}")


if __name__ == "__main__":
    main()
