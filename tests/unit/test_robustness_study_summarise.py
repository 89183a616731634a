"""docs/results/robustness/summarise.py on a tiny fake runs.csv, against numbers computed by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from script_loader import load_script

PATH = Path(__file__).resolve().parents[2] / "docs" / "results" / "robustness" / "summarise.py"
S = load_script(PATH, "robustness_study_summarise")

T2 = 4.302652729911275  # Student's t, 97.5 % quantile, 2 degrees of freedom


def _write(path: Path) -> None:
    rows = []
    for seed, (u_clean, p_clean, u_bim, p_bim) in enumerate(
        [(0.90, 0.90, 0.10, 0.20), (0.92, 0.91, 0.12, 0.25), (0.94, 0.92, 0.14, 0.30)]
    ):
        for m, c, b in (("unprotected", u_clean, u_bim), ("parl", p_clean, p_bim)):
            rows.append([seed, m, "clean", "clean", 0.0, "vote", c])
            rows.append([seed, m, "blackbox", "bim", 0.07, "vote", b])
            rows.append([seed, m, "blackbox", "bim", 0.07, "mean", 1.0 - b])  # another rule: must not mix in
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(S.FIELDS)
        w.writerows(rows)


def test_statistics_by_hand(tmp_path: Path) -> None:
    p = tmp_path / "runs.csv"
    _write(p)
    rows = S.load(p)
    mean, std, ci, n = S.stat(list(S.per_seed(rows, "unprotected", "clean", "clean", 0.0, "vote").values()))
    assert (mean, std, ci, n) == pytest.approx((0.92, 0.02, T2 * 0.02 / math.sqrt(3), 3))
    # paired by seed: parl − U BIM = 0.10, 0.13, 0.16 -> mean 0.13, std 0.03
    d, half, n = S.paired(rows, "parl", "unprotected", "blackbox", "bim", 0.07, "vote")
    assert (d, half, n) == pytest.approx((0.13, T2 * 0.03 / math.sqrt(3), 3))
    assert S.cell(d, half) == "better" and S.cell(-d, half) == "worse" and S.cell(0.01, half) == "tie"
    assert math.isnan(S.stat([0.5])[1]) and S.cell(0.1, math.nan) == "n/a"


def test_verdicts() -> None:
    assert S.verdict(["better", "better", "better", "tie"]) == "holds"
    assert S.verdict(["better", "better", "tie", "worse"]) == "weaker"
    assert S.verdict(["better", "worse", "worse", "tie"]) == "does not hold"
    assert S.verdict(["tie", "tie"]) == "does not hold"
    assert S.verdict(["better", "n/a"]) == "awaiting seeds"
    # "at par" claims: ties count for the claim
    assert S.verdict_par(["tie", "tie", "better", "tie"]) == "holds"
    assert S.verdict_par(["tie", "tie", "worse", "tie"]) == "weaker"
    assert S.verdict_par(["tie", "worse"]) == "does not hold"


def test_printed_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "runs.csv"
    _write(p)
    assert S.main(["--runs", str(p)]) == 0
    out = capsys.readouterr().out
    # parl clean 0.90, 0.91, 0.92 -> 91.0 ± 1.0, CI 4.303 * 0.01 / sqrt(3) = 2.5 pp;
    # BIM 0.20, 0.25, 0.30 -> 25.0 ± 5.0, CI 12.4 pp
    assert "| parl | 91.0 ± 1.0 [±2.5] | – | 25.0 ± 5.0 [±12.4] | – | – | – |" in out
    # under the mean rule BIM is 1 − b: 75.0 ± 5.0
    assert "| parl | – | – | 75.0 ± 5.0 [±12.4] | – | – | – |" in out
    assert f"parl − unprotected bim ε=0.07: +13.0 ± {100 * T2 * 0.03 / math.sqrt(3):.1f} pp (n=3) better" in out
    # U − PARL clean = 0.00, 0.01, 0.02: mean 1.0 pp <= 2 pp, no other baseline measured -> holds
    assert "H2 clean cost U − PARL +1.0 ± 2.5 pp (n=3)" in out and "'n/a', 'n/a', 'n/a']: holds" in out
    assert "H1 Table 1 black-box ε = 0.07: awaiting seeds" in out  # ADP, GAL, DVERGE absent


def test_collect(tmp_path: Path) -> None:
    rec = dict(seed=0, setting="blackbox", eps=0.07, rule="vote")
    res = {
        "records": [
            {**rec, "method": "PARL/5", "attack": "mim_mu1", "accuracy": 0.3},
            {**rec, "method": "ADP", "attack": "bim", "accuracy": 0.2},
        ],
        "repeats": [
            {
                "seed": 0,
                "cka": {"PARL/5": {"mean": 0.8}},
                "grad_similarity_layers": ["a", "b"],
                "grad_similarity": {"PARL/5": {"mean_offdiag": -0.6}},
            }
        ],
    }
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "results.json").write_text(json.dumps(res))
    runs = tmp_path / "runs.csv"
    S.collect([tmp_path / "run"], runs, tmp_path / "diversity.csv")
    rows = S.load(runs)
    got = {(r["method"], r["attack"], r["accuracy"]) for r in rows}
    assert got == {("parl-5", "mim-mu1", 0.3), ("adp", "bim", 0.2)}
    div = list(csv.DictReader((tmp_path / "diversity.csv").open()))
    assert [(d["method"], d["measure"], float(d["value"])) for d in div] == [
        ("parl-5", "cka_mean", 0.8),
        ("parl-5", "grad_cos", -0.3),
    ]
    res["records"][0]["accuracy"] = 0.4
    (tmp_path / "run2").mkdir()
    (tmp_path / "run2" / "results.json").write_text(json.dumps(res))
    with pytest.raises(ValueError, match="disagrees"):
        S.collect([tmp_path / "run", tmp_path / "run2"], runs, tmp_path / "diversity.csv")


def test_checks(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "runs.csv"
    _write(p)
    rows = S.load(p)
    S.checks(rows, "vote")  # no BIM rows at the grid's ends
    assert "C0 calibration: awaiting seeds" in capsys.readouterr().out
    monkeypatch.setattr(S, "EPS_GRID", [0.07])
    S.checks(rows, "vote")
    out = capsys.readouterr().out
    # U BIM at 0.07: mean 0.12 over clean 0.92 = 0.13 < 0.5; parl 25 % >= 10 % at the largest ε -> not met
    assert "keeps 0.13 of clean; at ε=0.07 unprotected 12.0 %, parl 25.0 %: NOT met" in out
    assert "C1 clean test accuracy >= 0.85: met" in out
    S.checks(
        [
            {**r, "accuracy": 0.84} if r["setting"] == "clean" and r["seed"] == 2 and r["method"] == "parl" else r
            for r in rows
        ],
        "vote",
    )
    assert "NOT met [('parl', 2, 0.84)]" in capsys.readouterr().out
