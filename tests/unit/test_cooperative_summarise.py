"""docs/results/cooperative/summarise.py on a tiny fake runs.csv with hand-computed numbers, and --collect."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]


def _module():
    return load_script(ROOT / "docs/results/cooperative/summarise.py", "coop_summarise")


def _runs() -> pd.DataFrame:
    pair, single, svr = [3.0, 4.0, 5.0], [3.5, 4.1, 5.6], [2.0, 3.0, 4.5]
    rows = [(s, "codeepnet", 3.1, pair[s], 1000, 10.0) for s in range(3)]
    rows += [(s, "single_cnn", 3.2, single[s], 1500, 12.0) for s in range(3)]
    rows += [(s, "svr", 3.3, svr[s], 50, 0.5) for s in range(3)]
    return pd.DataFrame(rows, columns=["seed", "model", "val_mae", "test_mae", "parameters", "train_seconds"])


def test_paired_numbers_by_hand() -> None:
    mod = _module()
    r = mod.paired(_runs(), "single_cnn")
    # d = (0.5, 0.1, 0.6): mean 0.4, sd sqrt(0.07), t = 0.4 / (sqrt(0.07)/sqrt(3))
    assert r["n"] == 3 and r["wins"] == 3
    assert r["mean_d"] == pytest.approx(0.4)
    assert r["sd_d"] == pytest.approx(0.07**0.5)
    t = 0.4 / (0.07**0.5 / 3**0.5)
    assert r["t"] == pytest.approx(t)
    # Student t with 2 degrees of freedom: P(T > t) = (1 - t / sqrt(t² + 2)) / 2
    assert r["p_t"] == pytest.approx((1 - t / (t * t + 2) ** 0.5) / 2)
    # Wilcoxon, n = 3, all positive: exact two-sided p = 2 / 2³
    assert r["p_wilcoxon"] == pytest.approx(0.25)


def test_holm_and_verdicts() -> None:
    mod = _module()
    assert mod.holm({"a": 0.01, "b": 0.04, "c": 0.03}) == pytest.approx({"a": 0.03, "b": 0.06, "c": 0.06})
    assert mod.verdict(0.4, 0.01) == "holds"
    assert mod.verdict(0.4, 0.2) == "weaker"
    assert mod.verdict(-0.1, 0.9) == "does not hold"
    assert mod.verdict(0.0, 0.9) == "does not hold"


def test_report_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = _module()
    csv = tmp_path / "runs.csv"
    _runs().to_csv(csv, index=False)
    assert mod.main(["--runs", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "| codeepnet | 3 | 4.000 ± 1.000 | 3.100 | 1,000 | 10.0 |" in out
    # svr: d = (-1, -1, -0.5), mean -0.833 -> does not hold; single CNN: p ≈ 0.06 (x2 Holm) -> weaker
    assert "H4a pair beats SVR: d = -0.833" in out and out.count("does not hold") == 2
    # the pair's mean test MAE is exactly 4.000, not under 4 years
    assert "H6 pair under 4 years MAE: mean test MAE 4.000 over 3 seeds -> does not hold" in out
    assert "H1 pair beats a single larger CNN: d = +0.400" in out and "-> weaker" in out
    # pair 1000 params / 10 s vs single 1500 / 12 s on every seed
    assert (
        "H5 efficiency vs single_cnn: fewer parameters on 3/3 seeds (mean ratio 0.667), less training time on "
        "3/3 (mean ratio 0.833)"
    ) in out
    assert mod.main(["--runs", str(tmp_path / "absent.csv")]) == 2


def test_collect_from_results(tmp_path: Path) -> None:
    mod = _module()
    dirs = []
    for seed in (0, 1):
        d = tmp_path / f"s{seed}"
        d.mkdir()
        (d / "config.yaml").write_text(f"seed: {seed}\n")
        models = {
            "codeepnet": {"val_mae": 3.0 + seed, "mae": 3.5, "n_parameters": 10, "train_seconds": 1.0},
            "svr": {"val_mae": 4.0, "mae": 4.5 + seed, "n_parameters": 5, "train_seconds": 0.1},
        }
        (d / "results.json").write_text(json.dumps({"models": models}))
        dirs.append(str(d))
    out = tmp_path / "runs.csv"
    assert mod.main(["--collect", *dirs, "--runs", str(out)]) == 0
    runs = pd.read_csv(out)
    assert list(runs.columns) == ["seed", "model", "val_mae", "test_mae", "parameters", "train_seconds"]
    assert runs.test_mae.tolist() == [3.5, 4.5, 3.5, 5.5] and runs.val_mae.tolist() == [3.0, 4.0, 4.0, 4.0]


def test_pilot_cost_lines(tmp_path: Path) -> None:
    mod = _module()
    (tmp_path / "time.txt").write_text(
        "\tUser time (seconds): 100.00\n\tSystem time (seconds): 8.00\n"
        "\tPercent of CPU this job got: 50%\n"
        "\tElapsed (wall clock) time (h:mm:ss or m:ss): 3:36.00\n"
    )
    res = {
        "seconds": 200.0,
        "search": {"seconds": 120.0, "evaluations": 30, "pareto_front": ["a", "b"]},
        "single_cnn_search": {"seconds": 50.0, "evaluations": 29},
        "models": {"codeepnet": {"mae": 4.123, "n_parameters": 1234}, "svr": {"mae": 5.0}},
        "data": {"selected_truly_age_associated": 150, "n_age_cpgs": 200},
    }
    (tmp_path / "results.json").write_text(json.dumps(res))
    lines = mod.pilot(tmp_path)
    # 108 CPU-s = 0.030 core-h; x5 = 0.15
    assert lines[0] == "pilot CPU time 108.0 s = 0.030 core-h per seed, 0.15 core-h for 5 seeds; wall 3:36.00, 50% CPU"
    assert lines[1] == "pair search 120 s (30 chromosomes), single-CNN search 50 s (29), the rest 30 s"
    assert lines[2] == "pilot test MAE: codeepnet 4.12, svr 5.00"
    assert lines[3] == "pair front 2 chromosomes, pair parameters 1,234, true age CpGs selected 150/200"
