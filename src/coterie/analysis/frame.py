"""Sweep results as a tidy table: one row per finished run, flattened metrics as columns.

Reading a sweep's store is :func:`coterie.sweep.load_sweep_frame` (the sweep layer sits above the analyses).
"""

from __future__ import annotations

import pandas as pd


def runs_frame(rows: list[dict]) -> pd.DataFrame:
    """A DataFrame from :meth:`ResultStore.finished` rows.

    Columns: ``run_id, name, run_dir, seed, N`` (ensemble size), ``objective``, ``beta_bar`` and ``beta`` (uniform
    coupling; β = β̄/N for normalised runs), every override as ``grid.<field>``, and every flattened metric
    (``val.ens_acc_mean``, ``test.member_acc_mean``, ``analysis.test.inactive_fraction.act1``, ...).
    """
    records = []
    for r in rows:
        cfg = r["config"]
        obj = cfg.get("objective", {})
        params = obj.get("params", {}) or {}
        n = cfg.get("ensemble", {}).get("size")
        rec: dict = {
            "run_id": r["run_id"],
            "name": r["name"],
            "run_dir": r["run_dir"],
            "seed": cfg.get("seed"),
            "N": n,
            "objective": obj.get("name"),
            "experiment": cfg.get("experiment"),
        }
        beta = params.get("beta", 0.0 if obj.get("name") == "independent" else None)
        if isinstance(beta, (int, float)) and n:
            if params.get("normalize", False):
                rec["beta_bar"], rec["beta"] = float(beta), float(beta) / n
            else:
                rec["beta_bar"], rec["beta"] = float(beta) * n, float(beta)
        for k, v in r["overrides"].items():
            rec[f"grid.{k}"] = v if not isinstance(v, (list, dict)) else str(v)
        rec.update(r["metrics"])
        records.append(rec)
    return pd.DataFrame.from_records(records)
