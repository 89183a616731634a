"""The few figures ``coterie run`` prints when an experiment with a nested ``results.json`` ends.

Each function maps that experiment's results to ``{label: value}`` (registered as its ``headline``); the full
figures stay in ``results.json`` and the run directory's tables. Missing sections are skipped, so a partial or older
results file still prints what it has.
"""

from __future__ import annotations

from typing import Any


def _mean(entry: Any) -> float | None:
    """A figure as a float: a number, or the ``mean`` of a ``{mean, std, ...}`` summary."""
    if isinstance(entry, dict):
        entry = entry.get("mean")
    return float(entry) if isinstance(entry, (int, float)) and not isinstance(entry, bool) else None


def robustness(results: dict[str, Any]) -> dict[str, float]:
    """Per method: clean accuracy and the worst black-box transfer accuracy over the attacks at the largest ε."""
    out: dict[str, float] = {}
    table = (results.get("table1") or {}).get("blackbox") or {}
    for method, row in (table.get("rows") or {}).items():
        clean = _mean(row.get("clean"))
        attacked = [v for k, e in row.items() if k != "clean" and (v := _mean(e)) is not None]
        if clean is not None:
            out[f"{method}: clean acc"] = clean
        if attacked:
            out[f"{method}: black-box acc, worst attack, ε = {table.get('eps')}"] = min(attacked)
    return out


def merge(results: dict[str, Any]) -> dict[str, float]:
    """Per level (pair, hierarchy): the best parent's, the output ensemble's and each merged network's test accuracy."""
    out: dict[str, float] = {}
    for level in ("pair", "hierarchy"):
        section = results.get(level) or {}
        parents = [p["test_acc"] for p in section.get("parents", []) if "test_acc" in p]
        if parents:
            out[f"{level}: best parent test acc"] = max(parents)
        if "ensemble_test_acc" in section:
            out[f"{level}: output ensemble test acc"] = float(section["ensemble_test_acc"])
        for method, rec in (section.get("merged") or {}).items():
            if isinstance(rec, dict) and "test_acc" in rec:
                out[f"{level}: {method} test acc"] = float(rec["test_acc"])
    return out


def ldnn(results: dict[str, Any]) -> dict[str, float]:
    """Per model (nn, hnn) and arm: the mean validation metric over seeds (accuracy, or MSE for the physics tasks)."""
    out: dict[str, float] = {}
    for model, section in results.items():
        val = section.get("val") if isinstance(section, dict) else None
        if not isinstance(val, dict) or "metric" not in section:  # e.g. ``sizes``: {train, val, test} counts
            continue
        for arm, entry in val.items():
            if (v := _mean(entry)) is not None:
                out[f"{model}: {arm} val {section.get('metric', 'metric')}"] = v
    return out


def codeepnet(results: dict[str, Any]) -> dict[str, float]:
    """Test MAE (years) of the pair and of every baseline."""
    return {f"{name} test MAE": v for name, e in (results.get("mae") or {}).items() if (v := _mean(e)) is not None}
