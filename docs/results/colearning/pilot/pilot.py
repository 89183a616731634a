"""Recipe pilot of the co-learning study v2 (issue 18 point 1): run a few β = 0 candidates and tabulate them.

    OMP_NUM_THREADS=1 .venv/bin/python docs/results/colearning/pilot/pilot.py RUNS_DIR [NAME ...]

Each candidate is ``coterie run <arm>.yaml --set ...`` into RUNS_DIR/<name>-s<seed>. The table (appended to
pilot.csv beside this file, one row per run) gives validation and test accuracy (members and ensemble, final epoch),
the validation member accuracy's change over the last 20 % of epochs (a least-squares line's slope × the window,
in accuracy units: the flatness check), the best validation epoch, and the CPU seconds of the run (user + sys of
the child process, one thread; includes start-up and data generation) and its wall seconds.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
COTERIE = Path(sys.executable).parent / "coterie"
SGD_PAPER = ["optimizer.name=sgd", "optimizer.lr=0.01", "optimizer.momentum=0.9", "optimizer.weight_decay=0.0005"]
# name -> (arm config, overrides); every candidate at β = 0 with N members given by the overrides (default 2)
CANDIDATES: dict[str, tuple[str, list[str]]] = {
    "mlp-adam1e-2-e150": ("mlp", []),
    "mlp-adam3e-3-e150": ("mlp", ["optimizer.lr=0.003"]),
    "mlp-adam1e-2-wd1e-4-e150": ("mlp", ["optimizer.weight_decay=0.0001"]),
    "mlp-sgdpaper-b512-const-e300": ("mlp", [*SGD_PAPER, "batch_size=512", "schedule.name=constant", "epochs=300"]),
    "mlp-sgdpaper-b128-cos-e200": ("mlp", [*SGD_PAPER, "epochs=200"]),
    "mlp-recipe": ("mlp", ["optimizer.weight_decay=0.0001"]),  # chosen: Adam lr 0.01, wd 1e-4, cosine, 150 epochs
    "mlp-adam1e-2-wd5e-4-e150": ("mlp", ["optimizer.weight_decay=0.0005"]),
    "mlp-adamw1e-2-wd5e-2-e150": ("mlp", ["optimizer.name=adamw", "optimizer.weight_decay=0.05"]),
    "mlp-adam1e-2-wd1e-4-e150-val10": ("mlp", ["optimizer.weight_decay=0.0001", "data.val_fraction=0.1"]),
    "mlp-adam1e-2-wd1e-4-e100": ("mlp", ["optimizer.weight_decay=0.0001", "epochs=100"]),
    "mlp-adam1e-2-wd1e-4-e100-val10": ("mlp", ["optimizer.weight_decay=0.0001", "epochs=100",
                                               "data.val_fraction=0.1"]),
    # chosen MLP recipe (equal validation accuracy to 150 epochs at two thirds of the cost): also run at N = 5-20
    "mlp-final": ("mlp", ["optimizer.weight_decay=0.0001", "epochs=100", "data.val_fraction=0.1"]),
    "cnn-adam3e-3-e60": ("cnn", []),
    "cnn-adam3e-3-e60-shift4": ("cnn", ["data.augment={random_shift: 4}"]),
    "cnn-sgdpaper-b128-cos-e60": ("cnn", [*SGD_PAPER, "epochs=60"]),
    "cnn-adam3e-3-e40-shift4": ("cnn", ["epochs=40", "data.augment={random_shift: 4}"]),
    "cnn-sgdpaper-b128-cos-e100-shift4": ("cnn", [*SGD_PAPER, "epochs=100", "data.augment={random_shift: 4}"]),
}
FIELDS = ["name", "seed", "N", "overrides", "epochs", "val_member", "val_ens", "test_member", "test_ens",
          "val_change_last20pct", "best_val_epoch", "cpu_seconds", "wall_seconds"]


def flatness(metrics: Path) -> tuple[float, int, int]:
    """(slope × window of validation member accuracy over the last 20 % of epochs, best epoch, epochs run)."""
    recs = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    acc = np.array([r["val_member_acc_mean"] for r in recs if "val_member_acc_mean" in r])
    k = max(2, round(0.2 * len(acc)))
    t = np.arange(k)
    slope = np.polyfit(t, acc[-k:], 1)[0]
    return float(slope * (k - 1)), int(np.argmax(acc)), len(acc)


def run_one(runs: Path, name: str, seed: int, extra: list[str]) -> dict[str, object]:
    arm, sets = CANDIDATES[name]
    sets = [*sets, *extra]
    tag = f"-{hashlib.sha1(' '.join(extra).encode()).hexdigest()[:6]}" if extra else ""
    out = runs / f"{name}-s{seed}{tag}"
    cmd = [str(COTERIE), "run", str(HERE / f"{arm}.yaml"), "--out", str(out), "--seed", str(seed)]
    for s in sets:
        cmd += ["--set", s]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    r = json.loads((out / "results.json").read_text())
    change, best, epochs = flatness(out / "metrics.jsonl")
    return {"name": name, "seed": seed, "N": r["n_members"], "overrides": " ".join(sets), "epochs": epochs,
            "val_member": round(r["val"]["member_acc_mean"], 4), "val_ens": round(r["val"]["ens_acc_mean"], 4),
            "test_member": round(r["test"]["member_acc_mean"], 4), "test_ens": round(r["test"]["ens_acc_mean"], 4),
            "val_change_last20pct": round(change, 4), "best_val_epoch": best,
            "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", type=Path, help="directory for the pilot's run directories")
    ap.add_argument("names", nargs="*", help=f"candidates (default: all): {list(CANDIDATES)}")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0])
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra override for every run")
    ap.add_argument("--csv", type=Path, default=HERE / "pilot.csv")
    args = ap.parse_args()
    new = not args.csv.exists()
    with args.csv.open("a", newline="") as f:
        w = csv.DictWriter(f, FIELDS)
        if new:
            w.writeheader()
        for name in args.names or list(CANDIDATES):
            for seed in args.seeds:
                row = run_one(args.runs, name, seed, args.extra)
                w.writerow(row)
                f.flush()
                sys.stdout.write(json.dumps(row) + "\n")
                sys.stdout.flush()


if __name__ == "__main__":
    main()
