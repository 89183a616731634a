"""Cost pilot (issue 19 point 5): CPU core-seconds of one seed of the study, measured on a reduced run and
extrapolated.

Usage: ``OMP_NUM_THREADS=1 python docs/results/robustness/pilot/cost.py STUDY.yaml [SELECTION.yaml]``.

Measured with ``time.process_time`` (CPU time of this single-threaded process = core-seconds, little affected by
other jobs sharing the machine): a few training steps of every method of the study config (each method's own
objective, members and augmentation, through the experiment's ``train_ensemble``), and a few attack gradients of the
ensemble on ``attack.n_eval`` samples. Extrapolated: training ∝ steps (epochs × ⌈train / batch⌉); black-box attacks
∝ gradients per ε (FGSM 1, BIM/MIM/each extra MIM ``steps``, PGD ``steps × restarts``) on the surrogate; white-box
the same per target and white-box ε, PGD once per scoring rule. Validation, CKA and gradient similarity are not
counted (seconds).
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import torch
import yaml

from coterie.attacks.evaluate import transfer_accuracies
from coterie.config import load_config
from coterie.experiments.build import build_objective, build_splits
from coterie.experiments.robustness import all_methods, scale_splits
from coterie.experiments.robustness.train import make_ensemble, train_ensemble
from coterie.objectives.independent import Independent

PILOT_STEPS = 8


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")


def _train_cost(cfg, splits, m, tmp: Path) -> float:
    """Core-seconds per training step of method ``m`` (``None``: plain cross-entropy): one epoch of 2 + PILOT_STEPS
    steps minus one of 2 steps (so the per-epoch validation pass and set-up cancel), divided by PILOT_STEPS."""
    spent = []
    for steps in (2, 2 + PILOT_STEPS):
        small = cfg.model_copy(update={"max_steps_per_epoch": steps, "cka": False})
        obj = Independent() if m is None else build_objective(m.objective.model_copy(update={"params": _no_warmup(m)}))
        t = time.process_time()
        train_ensemble(small, splits, obj, (0, 0), 1, tmp / f"{m.label if m else 'ce'}-{steps}".replace("/", "_"),
                       method=m)
        spent.append(time.process_time() - t)
    return (spent[1] - spent[0]) / PILOT_STEPS


def _warmup(m) -> int:
    """Epochs of plain cross-entropy at the start of a method's budget (DVERGE's ``warmup_epochs``)."""
    return int(m.objective.params.get("warmup_epochs", 0))


def _no_warmup(m) -> dict:
    """The method's objective parameters with the warm-up switched off (its own steps are measured)."""
    return {**m.objective.params, **({"warmup_epochs": 0} if "warmup_epochs" in m.objective.params else {})}


def _grad_cost(cfg, splits) -> float:
    """Core-seconds per attack gradient of one ensemble on ``attack.n_eval`` samples (BIM, PILOT_STEPS steps)."""
    ens = make_ensemble(cfg, splits, 0).eval()
    n = min(cfg.attack.n_eval, len(splits.test))
    x, y = splits.test.x[:n], splits.test.y[:n]
    settings = cfg.attack.settings().__class__(**{**cfg.attack.settings().__dict__, "steps": PILOT_STEPS})
    t = time.process_time()
    transfer_accuracies({"t": ens}, ens, x, y, "bim", 0.03, settings)
    return (time.process_time() - t) / PILOT_STEPS


def main(study: str, selection: str | None = None) -> None:
    torch.set_num_threads(1)
    cfg = load_config(yaml.safe_load(Path(study).read_text()))
    splits, _ = scale_splits(build_splits(cfg.data, cfg.seed), cfg.input_scaling)
    tmp = Path("/tmp/robustness-cost-pilot")
    steps_per_epoch = math.ceil(len(splits.train) / cfg.batch_size)
    _train_cost(cfg, splits, None, tmp / "warm-up")  # one-off costs (first calls, allocations) are not counted
    ce = _train_cost(cfg, splits, None, tmp)
    rows = [("surrogate (CE)", ce, cfg.epochs * steps_per_epoch)]
    for m in all_methods(cfg):
        e = m.epochs or cfg.epochs
        pre = _warmup(m)
        rows.append((f"{m.label} ({m.objective.name})", _train_cost(cfg, splits, m, tmp), (e - pre) * steps_per_epoch))
        if pre:
            rows.append((f"{m.label} pre-training (CE)", ce, pre * steps_per_epoch))
    a = cfg.attack
    g = _grad_cost(cfg, splits)
    per_eps = 1 + a.steps * (2 + len(a.extra_mim_decays)) + a.steps * a.restarts
    n_targets = len(all_methods(cfg))
    wb_eps = a.whitebox_eps or a.eps
    per_eps_wb = 1 + a.steps * (2 + len(a.extra_mim_decays)) + a.steps * a.restarts * len(a.reported_rules())
    bb = g * per_eps * len(a.eps)
    wb = g * per_eps_wb * len(wb_eps) * n_targets if a.whitebox else 0.0
    total = 0.0
    _say(f"train split {len(splits.train)}, {steps_per_epoch} steps/epoch; attack gradient on {a.n_eval} samples: "
          f"{g:.3f} core-s\n\n| part | core-s per step | steps | core-min |\n|---|---|---|---|")
    for name, c, s in rows:
        total += c * s
        _say(f"| train {name} | {c:.3f} | {s} | {c * s / 60:.1f} |")
    _say(f"| black-box attacks | {g:.3f} | {per_eps * len(a.eps)} | {bb / 60:.1f} |")
    _say(f"| white-box attacks | {g:.3f} | {per_eps_wb * len(wb_eps) * n_targets if a.whitebox else 0} | "
          f"{wb / 60:.1f} |")
    total += bb + wb
    _say(f"\none seed of {Path(study).name}: {total / 60:.1f} core-min = {total / 3600:.2f} core-h")
    if selection:
        scfg = load_config(yaml.safe_load(Path(selection).read_text()))
        sel = ce * scfg.epochs * steps_per_epoch
        for m in all_methods(scfg):
            pre = _warmup(m)
            c = ce if m.objective.name == "independent" else _train_cost(scfg, splits, m, tmp)
            sel += c * ((m.epochs or scfg.epochs) - pre) * steps_per_epoch + ce * pre * steps_per_epoch
        sel += g * scfg.attack.steps * len(scfg.attack.eps) * len(scfg.attack.names)
        _say(f"(selection: {len(all_methods(scfg))} targets + surrogate, {scfg.epochs} epochs each)")
        _say(f"selection run {Path(selection).name} (once): {sel / 60:.1f} core-min = {sel / 3600:.2f} core-h")


if __name__ == "__main__":
    main(*sys.argv[1:3])
