"""Evaluation side of ``experiment: robustness``: attacks (black-box transfer and white-box, every ε, every scoring
rule) and the diversity measures (PARL's input-gradient similarity, layer-wise linear CKA) on held-out data."""

from __future__ import annotations

import logging
from typing import Any

import torch

from coterie.attacks.evaluate import transfer_accuracies, whitebox_accuracies
from coterie.ensemble import Ensemble
from coterie.experiments.robustness.config import RobustnessConfig
from coterie.metrics.cka import layerwise_cka
from coterie.objectives.common import ensemble_members, hidden_layers, resolve_layers
from coterie.objectives.parl import pairwise_similarity
from coterie.utils.progress import progress_bar

log = logging.getLogger(__name__)

#: rule → attack label → target label → accuracy per ε
Curves = dict[str, dict[str, dict[str, list[float]]]]


def _generator(seed: int, eps: float) -> torch.Generator:
    """The random-start stream of one (repeat, ε): the same for every attack, target and rule."""
    return torch.Generator().manual_seed(seed * 7 + round(eps * 1000))


def _empty(cfg: RobustnessConfig, labels: list[str]) -> Curves:
    jobs = [label for label, _, _ in cfg.attack.jobs()]
    return {r: {a: {k: [] for k in labels} for a in jobs} for r in cfg.attack.reported_rules()}


def attack_all(
    cfg: RobustnessConfig,
    targets: dict[str, Ensemble],
    surrogate: Ensemble,
    x: torch.Tensor,
    y: torch.Tensor,
    seed: int,
) -> dict[str, Curves]:
    """Accuracy of every target under every attack and ε, black-box (crafted on ``surrogate``) and white-box
    (crafted on the target), under every reported scoring rule: ``{"blackbox": Curves, "whitebox": Curves}``
    (``whitebox`` only when enabled)."""
    rules = cfg.attack.reported_rules()
    eps_list = list(cfg.attack.eps)
    wb_eps = list(cfg.attack.whitebox_eps or eps_list)
    bb, wb = _empty(cfg, list(targets)), _empty(cfg, list(targets))
    jobs = cfg.attack.jobs()
    total = len(jobs) * (len(eps_list) + (len(wb_eps) * len(targets) if cfg.attack.whitebox else 0))
    with progress_bar() as bar:
        task = bar.add_task("attacks", total=total)
        for label, attack, settings in jobs:
            for e in eps_list:
                accs = transfer_accuracies(targets, surrogate, x, y, attack, e, settings, _generator(seed, e), rules)
                for r in rules:
                    for k, v in accs[r].items():
                        bb[r][label][k].append(v)
                bar.update(task, advance=1)
                log.info("black-box %s eps=%.3f %s", label, e, {k: round(v, 3) for k, v in accs[rules[0]].items()})
            if not cfg.attack.whitebox:
                continue
            for k, ens in targets.items():
                for e in wb_eps:
                    accs_wb = whitebox_accuracies(ens, x, y, attack, e, settings, _generator(seed, e), rules)
                    for r in rules:
                        wb[r][label][k].append(accs_wb[r])
                    bar.update(task, advance=1)
            log.info("white-box %s %s", label, {k: [round(v, 3) for v in wb[rules[0]][label][k]] for k in targets})
    return {"blackbox": bb, "whitebox": wb} if cfg.attack.whitebox else {"blackbox": bb}


def gradient_similarity(cfg: RobustnessConfig, targets: dict[str, Ensemble], x: torch.Tensor) -> dict[str, Any]:
    """PARL's R(M_i, M_j) of every target on held-out ``x``, over the PARL method's layers and feature reading
    (``{}`` without a PARL method): ``{"grad_similarity_layers": names, "grad_similarity": {label: ...}}``."""
    parl = next((m for m in cfg.methods if m.label == cfg.parl_label), None)
    if parl is None:
        return {}
    params = parl.objective.params
    features = params.get("features", "activation")
    first = ensemble_members(next(iter(targets.values())))[0]
    layers = resolve_layers(first, params.get("layers", 7), features)
    out: dict[str, Any] = {"grad_similarity_layers": layers, "grad_similarity_features": features}
    sims: dict[str, Any] = {}
    off = ~torch.eye(cfg.members, dtype=torch.bool)
    for k, ens in targets.items():
        s = torch.zeros(cfg.members, cfg.members)
        for start in range(0, x.shape[0], 250):
            xb = x[start : start + 250]
            s += pairwise_similarity(ens, xb, layers, features).cpu() * xb.shape[0]
        s /= x.shape[0]
        sims[k] = {"matrix": s.tolist(), "mean_offdiag": float(s[off].mean()) if cfg.members > 1 else None}
    out["grad_similarity"] = sims
    return out


def cka_all(cfg: RobustnessConfig, targets: dict[str, Ensemble], x: torch.Tensor) -> dict[str, Any]:
    """Layer-wise linear CKA between the members of every target on held-out ``x`` (seed 002 Fig. 2); ``{}`` when
    disabled or with one member."""
    if not cfg.cka or cfg.members < 2:
        return {}
    first = ensemble_members(next(iter(targets.values())))[0]
    layers = list(first.feature_layers("weighted")) if hasattr(first, "feature_layers") else hidden_layers(first)
    iu = torch.triu_indices(cfg.members, cfg.members, 1)
    cka: dict[str, Any] = {}
    for k, ens in targets.items():
        pairs = layerwise_cka(ens, x, layers)[:, iu[0], iu[1]]  # (L, P)
        cka[k] = {"per_layer_pairs": pairs.tolist(), "mean": float(pairs.mean())}
    return {"cka_layers": layers, "cka": cka}
