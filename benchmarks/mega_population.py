"""Scoring one MeGA population (P candidates) on the fitness set: batched vs the naive loop, side by side.

The naive loop is what MeGA's reference code does: for every candidate ``model.load_state_dict(candidate)`` and
evaluate the model batch by batch. It is measured at batch 32 (the reference code calls Keras
``model.evaluate(x_val, y_val)``, whose default ``batch_size`` is 32), at a conventional evaluation batch size (256)
and at the whole fitness set as one batch (the strongest loop). Every method is run in the same process, interleaved
repetition by repetition, and the median is reported; the ratios are naive time / method time from the same run,
one column per naive baseline.

    python benchmarks/mega_population.py                # all cases, 1 thread
    python benchmarks/mega_population.py --threads 2 --reps 9 --cases mlp

Timings vary with machine load: compare the ratios within one run, never against numbers from another run. With
``--threads`` equal to the core count, any other busy process makes OpenMP threads wait on each other and inflates
every row, the naive loops most (many small products): run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from coterie import merging, models
from coterie.merging.scoring import PopulationScorer, choose_method
from coterie.merging.state import StateLayout

CASES: dict[str, tuple[str, dict, tuple[int, ...], int]] = {
    # name: (model, kwargs, input shape, fitness samples)
    "mlp": ("mlp", {"hidden": (100, 100)}, (40,), 1000),  # MNIST-1D member, 10% of 5000 samples ×2
    "resnet20-w8": ("resnet20", {"in_channels": 1, "width": 8}, (1, 8, 8), 360),  # digits validation split
    "lenet5": ("lenet5", {"in_channels": 1, "input_size": 28}, (1, 28, 28), 500),
}


def population(layout: StateLayout, a: torch.nn.Module, b: torch.nn.Module, p: int) -> torch.Tensor:
    """P candidates as MeGA draws them: α-blends plus 2% mutated weights."""
    t1, t2 = layout.flatten(a), layout.flatten(b)
    alpha = torch.rand(p, 1)
    pop = t2 + alpha * (t1 - t2)
    hit = (torch.rand(pop.shape) < 0.02) & layout.parameter_mask()
    return pop + hit * torch.randn(pop.shape) * 0.01


def naive_scorer(layout: StateLayout, x: torch.Tensor, y: torch.Tensor, batch: int) -> Callable[[torch.Tensor], list]:
    """load_state_dict + a conventional evaluation loop, per candidate."""
    model = layout.build(layout.flatten(layout.template)).eval()

    @torch.no_grad()
    def score(pop: torch.Tensor) -> list[float]:
        out = []
        for i in range(pop.shape[0]):
            model.load_state_dict(layout.unflatten(pop[i]))
            correct = 0
            for s in range(0, x.shape[0], batch):
                correct += int((model(x[s : s + batch]).argmax(1) == y[s : s + batch]).sum().item())
            out.append(correct / x.shape[0])
        return out

    return score


NAIVE_BATCHES = (32, 256)  # Keras ``evaluate`` default, a conventional batch; the whole fitness set is added


def run_case(name: str, p: int, reps: int) -> list[tuple[str, str, float, list[float]]]:
    model_name, kw, shape, n = CASES[name]
    torch.manual_seed(0)
    a, b = models.create(model_name, **kw).eval(), models.create(model_name, **kw).eval()
    layout = StateLayout(a)
    pop = population(layout, a, b, p)
    x, y = torch.rand(n, *shape), torch.randint(0, 10, (n,))
    full = merging.as_batches((x, y), role="fitness", batch_size=n)
    methods: dict[str, Callable[[torch.Tensor], object]] = {
        f"naive loop, batch {bs}": naive_scorer(layout, x, y, bs) for bs in (*NAIVE_BATCHES, n)
    }
    for m in ("loop", "vmap", "fused"):
        if m == "fused" and model_name != "mlp":
            continue
        methods[f"{m}, batch {n}"] = PopulationScorer(layout, full, m)
    auto = choose_method(a)
    ref = torch.tensor(methods["naive loop, batch 256"](pop))
    for label, fn in methods.items():  # warm-up and equality check
        got = fn(pop)
        got = got if isinstance(got, torch.Tensor) else torch.tensor(got)
        assert torch.allclose(got.float(), ref.float()), label
    times: dict[str, list[float]] = {k: [] for k in methods}
    for _ in range(reps):
        for label, fn in methods.items():
            t = time.perf_counter()
            fn(pop)
            times[label].append(time.perf_counter() - t)
    med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
    bases = [med[f"naive loop, batch {bs}"] for bs in (*NAIVE_BATCHES, n)]
    rows = []
    for label, ms in med.items():
        tag = label + (" (auto)" if label.startswith(auto + ",") else "")
        rows.append((name, tag, ms, [base / ms for base in bases]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--population", type=int, default=20)
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", nargs="*", default=list(CASES))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"MeGA population scoring: P = {args.population}, torch {torch.__version__}, {args.threads} thread(s), "
        f"median of {args.reps} interleaved repetitions"
    )
    print()
    cols = [f"× vs naive@{bs}" for bs in NAIVE_BATCHES] + ["× vs naive@full batch"]
    print("| case | method | ms / population | " + " | ".join(cols) + " |")
    print("|---|---|---|" + "---|" * len(cols))
    for case in args.cases:
        for name, label, ms, ratios in run_case(case, args.population, args.reps):
            print(f"| {name} | {label} | {ms:.1f} | " + " | ".join(f"{r:.2f}" for r in ratios) + " |")


if __name__ == "__main__":
    main()
