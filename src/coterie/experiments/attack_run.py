"""``coterie attack RUN_DIR``: white-box accuracy of a trained run's ensemble under an L∞ attack.

The loaded ensemble is attacked through its mean-probability output (``head="mean_prob"``: cross-entropy of
p̄ = mean_i softmax(z_i), what the ensemble reports under the ``mean`` rule) with :mod:`coterie.attacks`, and scored
with ``rule`` (seed 002: majority ``vote``). PGD's restarts are judged by the ensemble itself and its random starts
are seeded by the run's seed. Clean and adversarial accuracy and every setting land in ``RUN_DIR/attack.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from coterie.attacks import ATTACKS, AttackSettings, whitebox_accuracy
from coterie.attacks.bim import DEFAULT_STEPS
from coterie.attacks.mim import DEFAULT_DECAY
from coterie.attacks.pgd import DEFAULT_RESTARTS
from coterie.experiments.evaluate_run import SPLITS, load_run_ensemble, rebuild_splits
from coterie.experiments.loading import RunArgumentError, check_which, read_run_config
from coterie.utils.io import atomic_write_text, to_jsonable

RULES: tuple[str, ...] = ("vote", "mean")


class AffineInput(nn.Module):
    """``model(lo + (hi − lo) · u)``: the model seen through inputs u in [0, 1]; output (N, B, C) as the model's."""

    def __init__(self, model: nn.Module, lo: float, hi: float) -> None:
        super().__init__()
        self.model, self.lo, self.hi = model, lo, hi

    def forward(self, u: Tensor) -> Tensor:
        return self.model(self.lo + (self.hi - self.lo) * u)


def unit_box(model: nn.Module, x: Tensor, train_x: Tensor) -> tuple[nn.Module, Tensor, list[float]]:
    """The attacks work on inputs in [0, 1] (images). Data inside [0, 1] is attacked as is; other data (MNIST-1D)
    through :class:`AffineInput` mapping [0, 1] onto the box [lo, hi] spanned by the training split and the attacked
    samples (none is clipped), so ε is a fraction of that box's width, as the robustness experiment's ``minmax``.
    Returns (target, inputs in [0, 1] (B, ...), [lo, hi])."""
    lo, hi = min(float(x.min()), float(train_x.min())), max(float(x.max()), float(train_x.max()))
    if lo >= 0.0 and hi <= 1.0:
        return model, x, [0.0, 1.0]
    u = ((x - lo) / (hi - lo)).clamp(0.0, 1.0)
    return AffineInput(model, lo, hi), u, [lo, hi]


def check_attack_args(
    attack: str, eps: float, steps: int, restarts: int, n_samples: int | None, rule: str, split: str, which: str
) -> None:
    """Reject bad settings before any work, one line each (RunArgumentError)."""
    if attack not in ATTACKS:
        raise RunArgumentError(f"attack must be one of {sorted(ATTACKS)}, got {attack!r}")
    if not 0.0 <= eps <= 1.0:
        raise RunArgumentError(
            f"eps must lie in [0, 1] (a fraction of the input box's width: [0, 1] itself for image data), got {eps}"
        )
    if steps < 1 or restarts < 1:
        raise RunArgumentError(f"steps and restarts must be >= 1, got steps={steps}, restarts={restarts}")
    if n_samples is not None and n_samples < 1:
        raise RunArgumentError(f"n_samples must be >= 1, got {n_samples}")
    if rule not in RULES:
        raise RunArgumentError(f"rule must be one of {list(RULES)}, got {rule!r}")
    if split not in SPLITS:
        raise RunArgumentError(f"split must be one of {list(SPLITS)}, got {split!r}")
    check_which(which)


def attack_run(
    run_dir: str | Path,
    attack: str,
    eps: float,
    *,
    steps: int = DEFAULT_STEPS,
    restarts: int = DEFAULT_RESTARTS,
    n_samples: int | None = None,
    rule: str = "vote",
    which: str = "best",
    split: str = "test",
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """Attack the first ``n_samples`` (default all) of ``split`` on the run's ``which`` weights; writes and returns
    the attack.json record ``{"clean_acc", "adv_acc", "attack", "eps", ...settings}``. BIM/MIM/PGD take ``steps``
    steps of ε/5; PGD restarts ``restarts`` times. Raises RunArgumentError / RunLoadError before any work."""
    check_attack_args(attack, eps, steps, restarts, n_samples, rule, split, which)
    cfg = read_run_config(run_dir)
    ens = load_run_ensemble(run_dir, which, device)
    splits = rebuild_splits(cfg, run_dir)
    data = getattr(splits, split)
    dev = next(ens.parameters()).device
    x, y = data.x[:n_samples].to(dev), data.y[:n_samples].to(dev)
    target, u, box = unit_box(ens, x, splits.train.x.to(dev))
    settings = AttackSettings(steps=steps, restarts=restarts, head="mean_prob", loss="ce", rule=rule)  # type: ignore[arg-type]
    clean = whitebox_accuracy(target, u, y, attack, 0.0, settings)  # type: ignore[arg-type]
    gen = torch.Generator().manual_seed(cfg.seed)
    adv = whitebox_accuracy(target, u, y, attack, eps, settings, gen)  # type: ignore[arg-type]
    record: dict[str, Any] = {
        "attack": attack,
        "eps": eps,
        "clean_acc": clean,
        "adv_acc": adv,
        "rule": rule,
        "head": "mean_prob",
        "loss": "ce",
        "which": which,
        "split": split,
        "n_samples": int(y.shape[0]),
        "seed": cfg.seed,
        "input_box": box,
        "eps_units": "inputs" if box == [0.0, 1.0] else "fraction of input_box width",
    }
    if attack != "fgsm":
        record.update(steps=steps, step_size=eps / 5.0)
    if attack == "mim":
        record["decay"] = DEFAULT_DECAY
    if attack == "pgd":
        record["restarts"] = restarts
    atomic_write_text(Path(run_dir) / "attack.json", json.dumps(to_jsonable(record), indent=2))
    return record
