"""docs/results/robustness/figures.py: learning curves collected from run dirs, and every figure drawn."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2] / "docs" / "results" / "robustness"
F = load_script(ROOT / "figures.py", "robustness_study_figures")


def _run_dir(path: Path, seed: int, val: float) -> Path:
    """A run dir laid out as the robustness experiment writes it (seed 0, one repeat ``first_repeat`` = ``seed``):
    config.yaml, results.json and repeat<R>/<target>/metrics.jsonl."""
    (path).mkdir()
    (path / "results.json").write_text(json.dumps({"repeats": [{"seed": seed}]}))
    (path / "config.yaml").write_text(f"experiment: robustness\nseed: 0\nfirst_repeat: {seed}\nrepeats: 1\n")
    for label in ("unprotected", "PARL_5"):
        d = path / f"repeat{seed}" / label
        d.mkdir(parents=True)
        lines = [
            {
                "epoch": e,
                "train_loss": [1.0 / (e + 1), 3.0 / (e + 1)],
                "val_member_acc_mean": val + e / 100,
                "val_ens_acc_vote": val + e / 50,
            }
            for e in range(3)
        ]
        lines.insert(1, {"epoch": 0, "note": "a record without validation is skipped"})
        (d / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    return path


def test_curves_collected_by_hand(tmp_path: Path) -> None:
    runs = [_run_dir(tmp_path / "s0", 0, 0.5), _run_dir(tmp_path / "s3", 3, 0.6)]
    out = tmp_path / "curves.csv"
    F.collect_curves(runs, out)
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 * 2 * 3  # seeds × targets × epochs
    r = next(r for r in rows if r["seed"] == "3" and r["method"] == "parl-5" and r["epoch"] == "2")
    assert float(r["train_loss"]) == pytest.approx((1 / 2 + 3 / 2) / 2)  # members' mean at the second epoch
    assert float(r["val_ens_acc_vote"]) == pytest.approx(0.62)
    assert float(r["val_member_acc"]) == pytest.approx(0.61)


def test_a_disagreeing_repeat_is_refused(tmp_path: Path) -> None:
    a, b = _run_dir(tmp_path / "a", 0, 0.5), _run_dir(tmp_path / "b", 0, 0.7)
    with pytest.raises(ValueError, match="disagrees"):
        F.collect_curves([a, b], tmp_path / "curves.csv")


def test_band_is_summarise_statistics(tmp_path: Path) -> None:
    rows = [
        dict(seed=s, method="parl", setting="blackbox", attack="bim", eps=0.03, rule="vote", accuracy=a)
        for s, a in enumerate([0.2, 0.3, 0.4])
    ]
    mean, ci, n = F.band(rows, "parl", "blackbox", "bim", [0.03], "vote")
    assert (mean[0], n) == (pytest.approx(0.3), 3)
    assert ci[0] == pytest.approx(F.S.stat([0.2, 0.3, 0.4])[2])
    assert F.band(rows, "gal", "blackbox", "bim", [0.03], "vote")[2] == 0  # no rows: drawn as nothing


def test_every_figure_is_drawn(tmp_path: Path) -> None:
    runs = tmp_path / "runs.csv"
    with runs.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(F.S.FIELDS)
        for seed in (0, 1):
            for m in F.S.METHODS:
                w.writerow([seed, m, "clean", "clean", 0.0, "vote", 0.9])
                for e in F.S.EPS_GRID:
                    for a in F.S.ALL_ATTACKS:
                        w.writerow([seed, m, "blackbox", a, e, "vote", 0.9 - e])
                        w.writerow([seed, m, "whitebox", a, e, "vote", 0.5 - e])
    (tmp_path / "diversity.csv").write_text(
        "seed,method,measure,layer,value\n0,parl,cka_mean,all,0.7\n1,parl,cka_mean,all,0.8\n0,parl,grad_cos,all,0.3\n"
    )
    F.collect_curves([_run_dir(tmp_path / "s0", 0, 0.9)], tmp_path / "curves.csv")
    written = F.draw(runs, tmp_path / "fig", "vote")
    names = {p.name for p in written}
    assert names == {"blackbox.png", "whitebox.png", "k_ablation.png", "diversity.png", "learning_curves.png"}
    assert all(p.stat().st_size > 5000 for p in written)


def test_summarise_reports_the_last_three_epochs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    F.collect_curves([_run_dir(tmp_path / "s0", 0, 0.5), _run_dir(tmp_path / "s1", 1, 0.7)], tmp_path / "curves.csv")
    F.S.convergence(tmp_path / "curves.csv")
    out = capsys.readouterr().out
    # vote accuracy val + e/50 for e = 0, 1, 2, mean over the two seeds (0.5, 0.7): 60.0, 62.0, 64.0
    assert "unprotected  epochs 1–3: 60.0 → 62.0 → 64.0 (n=2)" in out
