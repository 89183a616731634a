"""Aggregation of ``experiment: robustness`` over repeats: Table 1, curves, diversity, and one flat record per
(seed, method, setting, attack, ε, rule) for study tables (``runs.csv``).

Spread over repeats is the *sample* standard deviation (ddof = 1) with a 95 % confidence half-width from Student's
t; a single repeat reports std and CI as 0 with ``n = 1`` (no spread can be estimated from one value).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from coterie.experiments.robustness.config import RobustnessConfig


def mean_std(values: list[Any]) -> Any:
    """Element-wise mean, sample std (ddof = 1), 95 % CI half-width and count over repeats of equally shaped nested
    lists/dicts of floats."""
    first = values[0]
    if isinstance(first, dict):
        return {k: mean_std([v[k] for v in values]) for k in first}
    arr = np.asarray(values, dtype=float)
    n = arr.shape[0]
    if n < 2:
        zero = np.zeros_like(arr[0]).tolist()
        return {"mean": arr.mean(0).tolist(), "std": zero, "ci95": zero, "n": n}
    std = arr.std(0, ddof=1)
    half = stats.t.ppf(0.975, n - 1) * std / np.sqrt(n)
    return {"mean": arr.mean(0).tolist(), "std": std.tolist(), "ci95": half.tolist(), "n": n}


def _modes(cfg: RobustnessConfig) -> list[str]:
    return ["blackbox"] + (["whitebox"] if cfg.attack.whitebox else [])


def _eps(cfg: RobustnessConfig, mode: str) -> list[float]:
    return list(cfg.attack.eps) if mode == "blackbox" else list(cfg.attack.whitebox_eps or cfg.attack.eps)


def table_and_curves(
    cfg: RobustnessConfig, repeats: list[dict[str, Any]], labels: list[str], rule: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Table 1 (clean and each attack at the largest ε) and accuracy-vs-ε curves under one scoring rule."""
    attacks = [a for a, _, _ in cfg.attack.jobs()]
    tables: dict[str, Any] = {}
    curves: dict[str, Any] = {}
    for mode in _modes(cfg):
        eps_m = _eps(cfg, mode)
        j = eps_m.index(max(eps_m))
        by_rule = [r[f"{mode}_by_rule"][rule] for r in repeats]
        rows = {
            k: {
                "clean": mean_std([r["clean"][k][rule] for r in repeats]),
                **{a: mean_std([b[a][k][j] for b in by_rule]) for a in attacks},
            }
            for k in labels
        }
        tables[mode] = {"eps": max(eps_m), "rows": rows}
        curves[mode] = {a: {k: mean_std([b[a][k] for b in by_rule]) for k in labels} for a in attacks}
    return tables, curves


def records(cfg: RobustnessConfig, repeats: list[dict[str, Any]], labels: list[str]) -> list[dict[str, Any]]:
    """One row per (seed, method, setting, attack, ε, rule): clean accuracy on the test split (setting and attack
    ``clean``, ε 0) and accuracy under each attack on the evaluation subset."""
    rows: list[dict[str, Any]] = []
    rules = cfg.attack.reported_rules()
    for rep in repeats:
        for k in labels:
            for rule in rules:
                rows.append(
                    dict(
                        seed=rep["seed"],
                        method=k,
                        setting="clean",
                        attack="clean",
                        eps=0.0,
                        rule=rule,
                        accuracy=rep["clean"][k][rule],
                    )
                )
        for mode in _modes(cfg):
            for rule, per_attack in rep[f"{mode}_by_rule"].items():
                for attack, per_target in per_attack.items():
                    for k in labels:
                        for e, acc in zip(_eps(cfg, mode), per_target[k]):
                            rows.append(
                                dict(
                                    seed=rep["seed"],
                                    method=k,
                                    setting=mode,
                                    attack=attack,
                                    eps=e,
                                    rule=rule,
                                    accuracy=acc,
                                )
                            )
    return rows


def summarise(cfg: RobustnessConfig, repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """Table 1 layout, curves and diversity figures (mean ± sample std over repeats) from the per-repeat results.

    ``table1``/``curves`` use the primary rule (``attack.rule``); ``table1_by_rule``/``curves_by_rule`` hold every
    reported rule; ``records`` is the flat per-run table.
    """
    labels = [k for k in repeats[0]["clean"] if k != "surrogate"]
    rules = cfg.attack.reported_rules()
    by_rule = {rule: table_and_curves(cfg, repeats, labels, rule) for rule in rules}
    eps_max = max(cfg.attack.eps)
    res: dict[str, Any] = {
        "experiment": "robustness",
        "eps": cfg.attack.eps,
        "whitebox_eps": cfg.attack.whitebox_eps or cfg.attack.eps,
        "eps_max": eps_max,
        "eps_max_index": cfg.attack.eps.index(eps_max),
        "methods": labels,
        "attacks": [a for a, _, _ in cfg.attack.jobs()],
        "rule": rules[0],
        "rules": rules,
        "table1": by_rule[rules[0]][0],
        "curves": by_rule[rules[0]][1],
        "table1_by_rule": {r: v[0] for r, v in by_rule.items()},
        "curves_by_rule": {r: v[1] for r, v in by_rule.items()},
        "clean": {k: mean_std([r["clean"][k][rules[0]] for r in repeats]) for k in [*labels, "surrogate"]},
        "clean_by_rule": {
            rule: {k: mean_std([r["clean"][k][rule] for r in repeats]) for k in [*labels, "surrogate"]}
            for rule in rules
        },
        "clean_eval_subset": {k: mean_std([r["clean_eval_subset"][k] for r in repeats]) for k in labels},
        "clean_members": {k: [r["clean"][k]["members"] for r in repeats] for k in [*labels, "surrogate"]},
        "train_seconds": {k: mean_std([r["train"][k]["seconds"] for r in repeats]) for k in labels},
        "records": records(cfg, repeats, labels),
    }
    res.update(_diversity(repeats, labels))
    res["repeats"] = repeats
    return res


def _diversity(repeats: list[dict[str, Any]], labels: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "grad_similarity" in repeats[0]:
        out["grad_similarity_layers"] = repeats[0]["grad_similarity_layers"]
        out["grad_similarity_features"] = repeats[0].get("grad_similarity_features")
        if all(r["grad_similarity"][k]["mean_offdiag"] is not None for r in repeats for k in labels):
            out["grad_similarity"] = {
                k: mean_std([r["grad_similarity"][k]["mean_offdiag"] for r in repeats]) for k in labels
            }
    if "cka" in repeats[0]:
        out["cka_layers"] = repeats[0]["cka_layers"]
        out["cka_mean"] = {k: mean_std([r["cka"][k]["mean"] for r in repeats]) for k in labels}
        out["cka_per_layer_pairs"] = {k: mean_std([r["cka"][k]["per_layer_pairs"] for r in repeats]) for k in labels}
    return out
