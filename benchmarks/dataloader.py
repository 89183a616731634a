"""Issue 16 (8): feeding the Trainer from a Dataset through a DataLoader costs little next to in-memory tensors, and
augmentation costs little next to the training step.

5 LeNet-5 members (co-learning, batch 128), one epoch over synthetic CIFAR-shaped images (3×32×32, 10 classes,
10,000 by default) with random crop (padding 4) + horizontal flip (coterie.data.augment), fed

(a) as in-memory tensors (the Trainer's indexed path);
(b) as a map-style Dataset, which the Trainer serves in the same seeded order through a DataLoader with ``--workers``
    worker processes (pinned memory on CUDA) — target: within 1.15× of (a);
(b') as a user's ``DataLoader(dataset, shuffle=True, num_workers=--workers)`` (information);
(c) as (a) without augmentation: (a)/(c) − 1 is augmentation's share of the step — target ≤ 10 %. The augmentation
    is also timed alone on the epoch's batches.

Each case trains fresh members for two epochs; the table reads the second epoch (steady state: workers already up,
caches warm) and, for (b), also the first (worker start-up included). Cases run interleaved round by round so
machine noise hits all of them alike; the medians over rounds are shown.

Run: ``python benchmarks/dataloader.py [--quick] [--samples N] [--workers W] [--rounds R] [--device cuda]``
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch
from torch.utils.data import DataLoader, Dataset

from coterie import CoLearning, Ensemble, Trainer
from coterie.data.augment import build_augment
from coterie.training.batch_order import epoch_generator

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


def epoch_seconds(data: object, augment: object, device: str, workers: int) -> list[float]:
    """Seconds of training per epoch (the Trainer's own ``train_seconds``) over two epochs of fresh members."""
    ens = Ensemble.from_factory("lenet5", 5, seed=0)
    tr = Trainer(
        ens, CoLearning(-0.1), lr=0.01, epochs=2, batch_size=BATCH, seed=0, device=device, progress=False,
        augment=augment, loader_workers=workers,
    )
    return [r["train_seconds"] for r in tr.fit(data)]


def augment_alone(x: torch.Tensor, augment: object, device: str) -> float:
    """Seconds to augment one epoch's batches, nothing else."""
    g = epoch_generator(0, 0, stream=2)
    batches = [x[i : i + BATCH].to(device) for i in range(0, x.shape[0], BATCH)]
    t0 = time.perf_counter()
    for xb in batches:
        augment(xb, g)
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2,000 images and one round (noisier)")
    ap.add_argument("--samples", type=int, default=None, help="images per epoch (default 10,000; 2,000 with --quick)")
    ap.add_argument("--workers", type=int, default=1, help="DataLoader worker processes for (b) and (b')")
    ap.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 3; 1 with --quick)")
    ap.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    n = args.samples or (2_000 if args.quick else 10_000)
    rounds = args.rounds or (1 if args.quick else 3)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# torch {torch.__version__}, {torch.get_num_threads()} threads, {os.cpu_count()} cores, load average "
        f"{load:.1f}, {platform.processor() or platform.machine()}, device {args.device}, {n} images, batch {BATCH}, "
        f"{args.workers} loader workers, {rounds} round(s)"
    )
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(n, *SHAPE, generator=g), torch.randint(0, 10, (n,), generator=g)
    aug = build_augment(SPEC, SHAPE)
    pin = args.device.startswith("cuda")
    cases = {
        "a": lambda: epoch_seconds((x, y), aug, args.device, 0),
        "b": lambda: epoch_seconds(ImageDataset(x, y), aug, args.device, args.workers),
        "b'": lambda: epoch_seconds(
            DataLoader(
                ImageDataset(x, y), batch_size=BATCH, shuffle=True, num_workers=args.workers, pin_memory=pin,
                persistent_workers=args.workers > 0,
            ),
            aug, args.device, 0,
        ),
        "c": lambda: epoch_seconds((x, y), None, args.device, 0),
    }
    runs: dict[str, list[list[float]]] = {k: [] for k in cases}
    for _ in range(rounds):
        for k, fn in cases.items():
            runs[k].append(fn())
    aug_s = statistics.median(augment_alone(x, aug, args.device) for _ in range(max(3, rounds)))
    warm = {k: statistics.median(r[1] for r in v) for k, v in runs.items()}
    cold_b = statistics.median(r[0] for r in runs["b"])
    cold_a = statistics.median(r[0] for r in runs["a"])
    steps = -(-n // BATCH)
    print(f"{'case (second epoch unless noted)':<62}{'s/epoch':>9}{'ms/step':>9}{'vs (a)':>8}  target")
    rows = [
        ("(a) tensors in memory, crop + flip", warm["a"], ""),
        (f"(b) Dataset -> Trainer's DataLoader, {args.workers} workers, crop + flip", warm["b"], "≤ 1.15×"),
        ("(b) the same, first epoch (worker start-up included)", cold_b, f"(a) first epoch {cold_a:.2f} s"),
        (f"(b') user DataLoader(shuffle, {args.workers} workers), crop + flip", warm["b'"], "info"),
        ("(c) tensors in memory, no augmentation", warm["c"], ""),
    ]
    for name, s, target in rows:
        ref = cold_a if "first epoch" in name else warm["a"]
        print(f"{name:<62}{s:>9.2f}{s / steps * 1e3:>9.1f}{s / ref:>7.2f}×  {target}")
    share = warm["a"] / warm["c"] - 1
    print(f"{'augmentation share of the step: (a)/(c) − 1':<62}{'':>9}{'':>9}{share * 100:>7.1f}%  ≤ 10 %")
    alone = aug_s / warm["a"]
    print(f"{'augmentation alone on the epoch batches, share of (a)':<62}{aug_s:>9.2f}{aug_s / steps * 1e3:>9.1f}"
          f"{alone * 100:>7.1f}%  ≤ 10 %")


if __name__ == "__main__":
    main()
