"""The pilot table and the study's cost arithmetic of the learned-diversity study v2 README, from pilot/*.json
(written by pilot.py) and the study configs' budgets. Called by ``summarise.py --pilot``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import yaml

HERE = Path(__file__).resolve().parent
SEEDS = 20
LEARNED_ARMS = 3  # type1, type2, mix: each trains like the pilot's "table" arm
SIZES = [25, 50, 100, 200, 400]  # Fig 4 sweep on MNIST-1D (cost taken as proportional to width, 100 = pilot)
REUSE_TARGETS = 2  # van der Pol activations used on Henon-Heiles (nn) and MNIST-1D: 3 learned arms each


def out(line: str = "") -> None:
    sys.stdout.write(line + "\n")


def _fmt(v: float, acc: bool) -> str:
    return f"{100 * v:.1f}%" if acc else f"{v:.3g}"


def _pilot_table(pilots: list[dict]) -> None:
    out("| task | model | schedule | arm | s / seed (epochs) | plateau epoch (per seed) | best val | val at plateau "
        "| test at plateau | final val | final test |")
    out("|---|---|---|---|---|---|---|---|---|---|---|")
    for p in pilots:
        acc = p["task"] == "mnist1d"
        for kind, m in p["models"].items():
            for arm, a in m["arms"].items():
                pl = ", ".join("–" if e is None else str(e) for e in a["plateau_epoch"])
                at = {"val_at_plateau": [None if e is None else c[e - 1]
                                         for e, c in zip(a["plateau_epoch"], a["val_curves"])],
                      "test_at_plateau": a.get("test_at_plateau") or [None] * len(a["plateau_epoch"])}
                vals = [" / ".join("–" if v is None else _fmt(v, acc) for v in (at.get(k) or a[k]))
                        for k in ("best_val", "val_at_plateau", "test_at_plateau", "final_val", "final_test")]
                out(f"| {p['task']} | {kind} | {p.get('schedule', 'constant')} | {arm} | {a['seconds_per_seed']:.1f} "
                    f"({a['epochs']}) | {pl} | " + " | ".join(vals) + " |")


def _cost(p: dict) -> float:
    """Core-seconds of one task's study config at 20 seeds (upper bound: meta-learning to its outer_steps cap)."""
    cfg = yaml.safe_load((HERE / f"study-{p['task']}.yaml").read_text())
    total = 0.0
    for kind, m in p["models"].items():
        epochs = cfg["eval"]["steps"] / m["steps_per_epoch"]
        scale = epochs / p["epochs"]
        base = sum(a["seconds_per_seed"] for arm, a in m["arms"].items() if arm != "table")
        learned = LEARNED_ARMS * m["arms"]["table"]["seconds_per_seed"]
        n_arms = len(m["arms"]) - 1 + LEARNED_ARMS
        train = SEEDS * scale * (base + learned)
        analysis = SEEDS * n_arms * m["analysis_seconds_per_seed"]
        meta = cfg["meta"]["outer_steps"] * m["meta_seconds_per_outer_step"]
        total += train + analysis + meta
        out(f"- {p['task']} {kind}: budget {epochs:.0f} epochs ({cfg['eval']['steps']} steps); training "
            f"{SEEDS} seeds × ({base:.1f} s baselines + {LEARNED_ARMS} × {m['arms']['table']['seconds_per_seed']:.1f}"
            f" s learned) × {scale:.2f} = {train:.0f} s; analysis {SEEDS} × {n_arms} × "
            f"{m['analysis_seconds_per_seed']:.1f} s = {analysis:.0f} s; meta-learning ≤ {cfg['meta']['outer_steps']}"
            f" × {m['meta_seconds_per_outer_step']:.2f} s = {meta:.0f} s")
    return total


def pilot_report(folder: Path) -> None:
    every = [json.loads(f.read_text()) for f in sorted(folder.glob("pilot-*.json"))]
    out("\n### Pilot (2 seeds, one core, loaded machine)\n")
    _pilot_table(every)
    pilots = [p for p in every if p.get("schedule", "constant") == "constant"]  # timed without test evaluation
    metas = [json.loads(f.read_text()) for f in sorted(folder.glob("meta-*.json"))]
    if metas:
        out("\n### Meta-learning to its plateau (each config's meta settings)\n")
        out("| config | model | outer steps run | stopped | best step | seconds | meta-network val "
            "| val loss first → best |")
        out("|---|---|---|---|---|---|---|---|")
        for m in metas:
            for kind, r in m["models"].items():
                c = r["val_loss_curve"] or [float("nan")]
                out(f"| {m['config']} | {kind} | {r['outer_steps_run']} | {r['stopped']} | {r['best_step']} "
                    f"| {r['seconds']:.0f} | {r['meta_network_val']:.4g} | {c[0]:.4g} → {min(c):.4g} |")
    out("\n### Cost of the study (20 seeds per arm)\n")
    costs = {p["task"]: _cost(p) for p in pilots}
    main = sum(costs.values())
    sweep = 0.0
    if "mnist1d" in costs:
        sweep = sum(costs["mnist1d"] * w / 100 for w in SIZES if w != 100)  # meta-learning again per width
        out(f"- Fig 4 sweep, widths {SIZES} on MNIST-1D (each width meta-learns and trains all arms; cost taken ∝ "
            f"width, 100 is the main study): {sweep:.0f} s")
    reuse = 0.0
    if "vanderpol" in costs:
        per_learned = [
            SEEDS * m["arms"]["table"]["seconds_per_seed"] * LEARNED_ARMS
            for p in pilots
            for k, m in p["models"].items()
            if p["task"] in ("henonheiles", "mnist1d") and k == "nn"
        ]
        reuse = float(np.sum(per_learned))
        out(f"- reuse of van der Pol activations on {REUSE_TARGETS} targets (3 learned arms × 20 seeds, pilot "
            f"epochs, an upper bound): {reuse:.0f} s")
    grand = main + sweep + reuse
    out(f"- main study {main:.0f} s = {main / 3600:.2f} core-h; with sweep and reuse {grand:.0f} s = "
        f"{grand / 3600:.2f} core-h (single-threaded, this loaded 2-core machine)")
