"""docs/results/merging/summarise.py on a tiny fake runs.csv whose numbers are computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]


def _module():
    return load_script(ROOT / "docs/results/merging/summarise.py", "merging_summarise")


# seed: (best parent test, mega-scalar test, average test, ensemble test, best-parent-val (val, test))
FAKE = {
    0: (0.70, 0.71, 0.31, 0.72, (0.69, 0.68)),
    1: (0.80, 0.82, 0.40, 0.84, (0.79, 0.80)),
    2: (0.75, 0.78, 0.34, 0.81, (0.74, 0.73)),
}


def _write(path: Path) -> None:
    lines = ["seed,setting,method,level,val_acc,test_acc,best_parent_test_acc"]
    for s, (bp, mega, avg, ens, (bv, bt)) in FAKE.items():
        lines += [
            f"{s},same,mega-scalar,pair,0.5,{mega},{bp}",
            f"{s},same,average,pair,0.5,{avg},{bp}",
            f"{s},same,ensemble,pair,0.5,{ens},{bp}",
            f"{s},same,best-parent-val,pair,{bv},{bt},{bp}",
        ]
    path.write_text("\n".join(lines) + "\n")


def test_deltas_intervals_and_verdicts_match_hand_computation(tmp_path: Path, capsys) -> None:
    mod = _module()
    _write(tmp_path / "runs.csv")
    assert mod.main(["--csv", str(tmp_path / "runs.csv")]) == 0
    out = capsys.readouterr().out
    # Δ vs best parent (test): 0.01, 0.02, 0.03 → mean 0.020, sd 0.01, t(0.975, 2) = 4.302653 → ± 0.024841
    assert "mega-scalar vs best-parent-test: Δ +0.020 [-0.005, +0.045], 3/3 seeds > 0 → **weaker**" in out
    # Δ vs average: 0.40, 0.42, 0.44 → +0.420 ± 0.049683 → holds
    assert "mega-scalar vs average: Δ +0.420 [+0.370, +0.470], 3/3 seeds > 0 → **holds**" in out
    # Δ vs ensemble: −0.01, −0.02, −0.03 → −0.020 → does not hold (mean ≤ −0.005)
    assert "mega-scalar vs ensemble: Δ -0.020 [-0.045, +0.005], 0/3 seeds > 0 → **does not hold**" in out
    # Δ vs the validation-chosen parent: 0.71−0.68, 0.82−0.80, 0.78−0.73 = 0.03, 0.02, 0.05 → mean 0.0333
    assert "mega-scalar vs best-parent-val: Δ +0.033" in out
    # mean absolute test accuracy of mega-scalar: (0.71 + 0.82 + 0.78) / 3 = 0.77
    assert "| mega-scalar | 0.500 | 0.770 |" in out
    assert "best parent (test) mean 0.750" in out


def test_interval_closed_form() -> None:
    mod = _module()
    mean, lo, hi = mod.interval([1.0, 3.0])  # mean 2, sd √2, t(0.975, 1) = 12.7062 → ± 12.7062
    assert mean == 2.0 and lo == pytest.approx(2 - 12.7062, abs=1e-3) and hi == pytest.approx(2 + 12.7062, abs=1e-3)


def test_collect_builds_rows_from_a_run_directory(tmp_path: Path) -> None:
    mod = _module()
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text(yaml.safe_dump({"seed": 3, "parents": {"data": "overlapping", "fraction": 0.25}}))
    parents = [{"member": 0, "val_acc": 0.6, "test_acc": 0.7}, {"member": 1, "val_acc": 0.65, "test_acc": 0.62}]
    hist = {"alpha": 0.9, "best_generation": 1, "best": [0.5, 0.55], "best_fitness": 0.6}
    merged = {
        "mega-scalar": {
            "val_acc": 0.66,
            "test_acc": 0.64,
            "seconds": 2.0,
            "cost": {"rss_peak_delta_bytes": 3 * 2**20},
            "history": hist,
        }
    }
    res = {
        "pair": {"parents": parents, "ensemble_test_acc": 0.71, "ensemble_val_acc": 0.67, "merged": merged},
        "hierarchy": {"parents": parents, "ensemble_test_acc": 0.7, "merged": {}},
    }
    (run / "results.json").write_text(json.dumps(res))
    rows = mod.collect([run])
    assert [r["method"] for r in rows] == ["best-parent-val", "ensemble", "mega-scalar"]  # empty hierarchy left out
    assert {r["setting"] for r in rows} == {"overlapping-0.25"} and {r["seed"] for r in rows} == {3}
    assert rows[0]["test_acc"] == 0.62 and rows[0]["val_acc"] == 0.65  # chosen on validation, not test
    assert all(r["best_parent_test_acc"] == 0.7 for r in rows)
    assert rows[2]["rss_peak_mib"] == 3.0
    # min(0.9, 0.1) = 0.1 from the nearer parent; best from generation 1; 0.6 − 0.5 added by the generations
    assert rows[2]["alpha_end_dist"] == pytest.approx(0.1) and rows[2]["gen1_share"] == 1.0
    assert rows[2]["ga_gain"] == pytest.approx(0.1)
    mod.write_csv(rows, tmp_path / "runs.csv")
    back = mod.read_csv(tmp_path / "runs.csv")
    assert back[2]["test_acc"] == 0.64 and back[1]["val_acc"] == 0.67
