"""Per-epoch validation curves of the learned-diversity study v2: collection, the plateau rule, the plot.

Every ldnn run logs, per arm and seed, its validation metric after each epoch (``val_<metric>_curve`` in the run's
metrics.jsonl eval records). ``summarise.py --collect`` writes them to ``curves.csv`` (one row per task × model ×
width × source × arm × seed: the pre-registered plateau epoch and the curve as space-separated values);
``summarise.py`` prints the convergence table (README "Base networks trained to a plateau (rule)") and
``summarise.py --plot-curves DIR`` draws mean ± sd over seeds per arm, one PNG per setting.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np

CURVE_COLUMNS = ["task", "model", "width", "source", "arm", "seed", "metric", "epochs", "plateau_epoch", "val_curve"]
PATIENCE = 20  # epochs (README)
TOLERANCE = {"accuracy": 0.005, "mse": 0.01}  # 0.5 accuracy points (absolute); 1 % of the MSE (relative)


def plateau_epoch(curve: list[float], metric: str, patience: int = PATIENCE) -> int | None:
    """The README's rule: the first epoch e (1-based) whose best value so far is not improved within the next
    ``patience`` epochs by more than 0.5 accuracy points (accuracy, higher is better) or 1 % of that best MSE
    (mse, lower is better); ``None`` when no epoch with ``patience`` epochs after it qualifies."""
    higher = metric == "accuracy"
    tol = TOLERANCE[metric]
    for e in range(len(curve) - patience):
        head, nxt = curve[: e + 1], curve[e + 1 : e + 1 + patience]
        if higher:
            gain = max(nxt) - max(head)
        else:
            best = min(head)
            gain = (best - min(nxt)) / abs(best) if best != 0 else 0.0
        if gain <= tol:
            return e + 1
    return None


def eval_records(run: Path) -> list[dict[str, Any]]:
    """The per-seed eval records of a run's metrics.jsonl, the last one per (model, arm, seed): a run resumed after
    an interruption logs its finished arms' records again."""
    last: dict[tuple, dict[str, Any]] = {}
    for line in (run / "metrics.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        rec = json.loads(line)
        if rec.get("phase") == "eval":
            last[(rec["model"], rec["arm"], rec["seed"])] = rec
    return list(last.values())


def curve_rows(records: list[dict[str, Any]], res: dict[str, Any], width: int, source: str) -> list[dict[str, Any]]:
    """curves.csv rows of one ldnn run from its eval records (:func:`eval_records`) that carry a curve."""
    rows = []
    for rec in records:
        metric = res[rec["model"]]["metric"]
        curve = rec.get(f"val_{metric}_curve")
        if not curve:
            continue
        pl = plateau_epoch(curve, metric)
        rows.append(
            {
                "task": res["task"],
                "model": rec["model"],
                "width": width,
                "source": source,
                "arm": rec["arm"],
                "seed": rec["seed"],
                "metric": metric,
                "epochs": len(curve),
                "plateau_epoch": pl or "",
                "val_curve": " ".join(f"{v:.6g}" for v in curve),
            }
        )
    return rows


def write_curves(rows: list[dict[str, Any]], path: Path) -> None:
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CURVE_COLUMNS)
        w.writeheader()
        w.writerows(rows)


def read_curves(path: Path) -> dict[tuple, dict[str, list[dict[str, Any]]]]:
    """{(task, model, width, source, E): {arm: [row per seed, with ``curve`` (epochs,) and ``plateau`` int | None]}}."""
    out: dict[tuple, dict[str, list[dict[str, Any]]]] = {}
    for r in csv.DictReader(path.open()):
        r["curve"] = np.array([float(v) for v in r["val_curve"].split()])
        r["plateau"] = int(r["plateau_epoch"]) if r["plateau_epoch"] else None
        key = (r["task"], r["model"], int(r["width"]), r["source"], int(r["epochs"]))
        out.setdefault(key, {}).setdefault(r["arm"], []).append(r)
    return out


def convergence(seeds: list[dict[str, Any]]) -> dict[str, Any]:
    """One arm: budget E, plateau epochs per seed, and converged = every seed's plateau epoch ≤ E − patience."""
    epochs = int(seeds[0]["epochs"])
    plateaus = [r["plateau"] for r in seeds]
    ok = all(p is not None and p <= epochs - PATIENCE for p in plateaus)
    return {"epochs": epochs, "plateaus": plateaus, "converged": ok}


def convergence_report(path: Path, out: Any) -> None:
    """The convergence table from curves.csv (``out``: a line printer)."""
    out("\n### convergence of the arms (plateau rule, README)\n")
    out(
        "| task | model | width | source | arm | n | E | plateau epoch median [min, max] | seeds without plateau "
        "| converged |"
    )
    out("|---|---|---|---|---|---|---|---|---|---|")
    for (task, model, width, source, _), arms in read_curves(path).items():
        for arm, seeds in arms.items():
            c = convergence(seeds)
            found = [p for p in c["plateaus"] if p is not None]
            span = f"{int(np.median(found))} [{min(found)}, {max(found)}]" if found else "–"
            out(
                f"| {task} | {model} | {width} | {source} | {arm} | {len(seeds)} | {c['epochs']} | {span} "
                f"| {len(seeds) - len(found)} | {'yes' if c['converged'] else '**no**'} |"
            )


def plot_curves(path: Path, dest: Path) -> list[Path]:
    """One PNG per setting, ``curves-<task>-<model>-w<width>-from-<source>-e<E>.png``: per arm the mean validation
    metric over seeds after each epoch with a ± 1 sd band (log scale for MSE)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for (task, model, width, source, budget), arms in read_curves(path).items():
        fig, ax = plt.subplots(figsize=(6, 4))
        metric = next(iter(arms.values()))[0]["metric"]
        for arm, seeds in arms.items():
            n = min(len(r["curve"]) for r in seeds)
            c = np.stack([r["curve"][:n] for r in seeds])
            mean, sd = c.mean(0), c.std(0, ddof=1) if len(seeds) > 1 else np.zeros(n)
            epochs = np.arange(1, n + 1)
            ax.plot(epochs, mean, label=f"{arm} (n={len(seeds)})")
            ax.fill_between(epochs, mean - sd, mean + sd, alpha=0.2)
        if metric == "mse":
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"validation {metric} (mean ± sd over seeds)")
        ax.set_title(f"{task} {model}, width {width}, activations from {source}, E = {budget}")
        ax.legend(fontsize=8)
        fig.tight_layout()
        src = source.replace(" (base ", "-base-").rstrip(")")  # "mnist1d (base zero)" -> "mnist1d-base-zero"
        name = dest / f"curves-{task}-{model}-w{width}-from-{src}-e{budget}.png"
        fig.savefig(name, dpi=100)
        plt.close(fig)
        written.append(name)
    return written
