"""Issue 16 (8): feeding the Trainer from a Dataset through a DataLoader costs little next to in-memory tensors, and
augmentation costs little next to the training step.

5 LeNet-5 members (co-learning, batch 128), one epoch over synthetic CIFAR-shaped images (3×32×32, 10 classes,
10,000 by default) with random crop (padding 4) + horizontal flip (coterie.data.augment), fed

(a) as in-memory tensors (the Trainer's indexed path);
(b) as a map-style Dataset, which the Trainer serves in the same seeded order through a DataLoader with ``--workers``
    worker processes (batches back through shared-memory slots, coterie/training/slot_loading.py; pinned memory on
    CUDA) — target: within 1.15× of (a);
(b0) as (b) with the items loaded in the training process (``loader_workers=0``; information: on a machine with
    few cores a worker process competes with the training threads);
(b') as a user's ``DataLoader(dataset, shuffle=True, num_workers=--workers)`` (information);
(c) as (a) without augmentation: (a)/(c) − 1 is augmentation's share of the step — target ≤ 10 %. The augmentation
    is also timed on its own inside the steps of (a).

Each case trains its own fresh members with the Trainer's data sources and step (``Case.step``); the cases run
interleaved step by step over two epochs, so machine noise hits all of them alike (whole-epoch runs side by side were
dominated by the load of a shared 2-core machine), and the table reads the second epoch (workers up, caches warm).
Ratios are of median step times.

Run: ``python benchmarks/dataloader.py [--quick] [--samples N] [--workers W] [--device cuda]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
from torch.utils.data import DataLoader, Dataset

from coterie import CoLearning, Ensemble
from coterie.data.augment import build_augment
from coterie.training.batch_order import epoch_generator
from coterie.training.data_source import BatchPlan, as_source
from coterie.training.optim import build_optimizer

SPEC = {"random_crop_padding": 4, "horizontal_flip": True}
SHAPE = (3, 32, 32)
BATCH = 128


class ImageDataset(Dataset):
    """What a user's image Dataset looks like: one (image, label) item per index, from memory."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], int(self.y[i])


class Case:
    """One way of feeding the same training: fresh members, their optimiser, a data source and the augmentation.
    ``step()`` is one iteration of the Trainer's loop (coterie/training/trainer.py ``_run_epoch``): the next batch
    from the source, the copy to the device, the augmentation, the co-learning loss, backward and the SGD step."""

    def __init__(self, data: object, augment: object, device: str, workers: int) -> None:
        self.device = torch.device(device)
        self.ens = Ensemble.from_factory("lenet5", 5, seed=0).to(self.device)
        self.opt = build_optimizer(self.ens.parameters(), "sgd", lr=0.01, momentum=0.9)
        self.obj = CoLearning(-0.1)
        self.source = as_source(data, batch_size=BATCH, workers=workers, pin_memory=self.device.type == "cuda")
        self.augment = augment
        self.plan = BatchPlan(seed=0, batch_size=BATCH)
        self.times: list[list[float]] = []
        self.aug_times: list[list[float]] = []

    def start_epoch(self, epoch: int) -> None:
        self.batches = iter(self.source.train_batches(epoch, self.plan))
        self.generator = epoch_generator(0, epoch, stream=2)
        self.times.append([])
        self.aug_times.append([])

    def step(self) -> None:
        t0 = time.perf_counter()
        xb, yb = next(self.batches)
        xb, yb = xb.to(self.device, non_blocking=True), yb.to(self.device, non_blocking=True)
        if self.augment is not None:
            ta = time.perf_counter()
            xb = self.augment(xb, self.generator)
            if self.device.type == "cuda":
                torch.cuda.synchronize()
            self.aug_times[-1].append(time.perf_counter() - ta)
        losses = self.obj(self.ens, xb, yb).losses
        self.opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        self.opt.step()
        losses.detach().cpu()  # the Trainer reads the losses every step (and so waits for CUDA)
        self.times[-1].append(time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 images (noisier)")
    ap.add_argument("--samples", type=int, default=None, help="images per epoch (default 10,000; 2,000 with --quick)")
    ap.add_argument("--workers", type=int, default=1, help="DataLoader worker processes for (b) and (b')")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    n = args.samples or (2_000 if args.quick else 10_000)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, load average "
        f"{load:.1f}, {platform.processor() or platform.machine()}, device {args.device}, {n} images, batch {BATCH}, "
        f"{args.workers} loader workers"
    )
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, *SHAPE, generator=g), torch.randint(0, 10, (n,), generator=g)
    aug = build_augment(SPEC, SHAPE)
    user_loader = DataLoader(
        ImageDataset(x, y),
        batch_size=BATCH,
        shuffle=True,
        num_workers=args.workers,
        pin_memory=args.device.startswith("cuda"),
        persistent_workers=args.workers > 0,
    )
    cases = {
        "a": Case((x, y), aug, args.device, 0),
        "b": Case(ImageDataset(x, y), aug, args.device, args.workers),
        "b0": Case(ImageDataset(x, y), aug, args.device, 0),
        "b'": Case(user_loader, aug, args.device, 0),
        "c": Case((x, y), None, args.device, 0),
    }
    steps = -(-n // BATCH)
    for epoch in range(2):  # the first epoch warms up (worker start-up, executor choice, caches)
        for c in cases.values():
            c.start_epoch(epoch)
        for _ in range(steps):  # interleaved step by step: machine noise hits every case alike
            for c in cases.values():
                c.step()
    report(cases, steps, args.workers)


def report(cases: dict[str, Case], steps: int, workers: int) -> None:
    """The table: per case the second epoch's total and median step time; ratios of medians against (a)."""
    med = {k: statistics.median(c.times[1]) for k, c in cases.items()}
    total = {k: sum(c.times[1]) for k, c in cases.items()}
    first = {k: sum(c.times[0]) for k, c in cases.items()}
    print(f"{'case (second epoch)':<62}{'s/epoch':>9}{'ms/step':>9}{'vs (a)':>8}  target")
    rows = [
        ("a", "(a) tensors in memory, crop + flip", ""),
        ("b", f"(b) Dataset -> Trainer's DataLoader, {workers} workers, crop + flip", "≤ 1.15×"),
        ("b0", "(b0) Dataset -> Trainer's DataLoader, loading in process", "info"),
        ("b'", f"(b') user DataLoader(shuffle, {workers} workers), crop + flip", "info"),
        ("c", "(c) tensors in memory, no augmentation", ""),
    ]
    for k, name, target in rows:
        print(f"{name:<62}{total[k]:>9.2f}{med[k] * 1e3:>9.1f}{med[k] / med['a']:>7.2f}×  {target}")
    print(
        f"{'(b) first epoch, worker start-up included (vs (a) first epoch)':<62}{first['b']:>9.2f}{'':>9}"
        f"{first['b'] / first['a']:>7.2f}×  info"
    )
    share = med["a"] / med["c"] - 1
    print(f"{'augmentation share of the step: (a)/(c) − 1':<62}{'':>9}{'':>9}{share * 100:>7.1f}%  ≤ 10 %")
    aug_s = sum(cases["a"].aug_times[1])
    print(
        f"{'augmentation alone, timed inside the steps of (a)':<62}{aug_s:>9.2f}{aug_s / steps * 1e3:>9.1f}"
        f"{aug_s / total['a'] * 100:>7.1f}%  ≤ 10 %"
    )


if __name__ == "__main__":
    main()
