"""docs/results/learned-diversity/study_curves.py: the pre-registered plateau rule on hand-made curves and on the
committed pilot curves (whose plateau epochs the README quotes), the convergence verdict, and curves.csv round trip."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
STUDY = ROOT / "docs/results/learned-diversity"


def _curves():
    return load_script(STUDY / "study_curves.py", "ldnn_study_curves")


def test_plateau_rule_on_hand_made_curves() -> None:
    c = _curves()
    # accuracy: best 0.50 at epoch 3; the next 20 epochs reach 0.504 (gain 0.4 points, not more than 0.5) -> 3
    acc = [0.3, 0.4, 0.5] + [0.504] * 20 + [0.6]
    assert c.plateau_epoch(acc, "accuracy") == 3
    # a gain of 0.6 points inside the window postpones it: epoch 3 is improved at epoch 23 by 0.006 -> not 3
    acc2 = [0.3, 0.4, 0.5] + [0.5] * 19 + [0.506] + [0.506] * 20
    assert c.plateau_epoch(acc2, "accuracy") == 23
    # MSE, relative: 1.0 then 0.995 (0.5 %) within 20 -> epoch 1; 0.98 (2 %) at epoch 21 -> epoch 21 instead
    assert c.plateau_epoch([1.0] + [0.995] * 20, "mse") == 1
    assert c.plateau_epoch([1.0] * 20 + [0.98] * 21, "mse") == 21
    assert c.plateau_epoch([1.0 / (e + 1) for e in range(30)], "mse") is None  # still falling 3 %+ per epoch
    assert c.plateau_epoch([0.5] * 20, "accuracy") is None  # no epoch has 20 epochs after it


@pytest.mark.parametrize("name", ["pilot-mnist1d-cosine80", "pilot-vanderpol-cosine200", "pilot-henonheiles-cosine400"])
def test_plateau_rule_reproduces_the_pilot(name: str) -> None:
    c = _curves()
    pilot = json.loads((STUDY / "pilot" / f"{name}.json").read_text())
    metric = "accuracy" if pilot["task"] == "mnist1d" else "mse"
    for model in pilot["models"].values():
        for arm in model["arms"].values():
            assert [c.plateau_epoch(v, metric) for v in arm["val_curves"]] == arm["plateau_epoch"]


def test_curves_csv_round_trip_and_convergence(tmp_path: Path) -> None:
    c = _curves()
    flat = [0.5] * 40
    late = [0.1 * e for e in range(40)]  # rising 10 points per epoch: no plateau
    rows = [
        {"task": "mnist1d", "model": "nn", "width": 100, "source": "mnist1d", "arm": arm, "seed": s,
         "metric": "accuracy", "epochs": 40, "plateau_epoch": c.plateau_epoch(v, "accuracy") or "",
         "val_curve": " ".join(map(str, v))}
        for arm, curves in {"mix": [flat, flat], "relu": [flat, late]}.items()
        for s, v in enumerate(curves)
    ]  # fmt: skip
    c.write_curves(rows, tmp_path / "curves.csv")
    sets = c.read_curves(tmp_path / "curves.csv")
    arms = sets[("mnist1d", "nn", 100, "mnist1d", 40)]
    assert arms["mix"][1]["curve"].tolist() == flat and arms["relu"][1]["plateau"] is None
    assert c.convergence(arms["mix"]) == {"epochs": 40, "plateaus": [1, 1], "converged": True}
    assert c.convergence(arms["relu"])["converged"] is False
    buf = io.StringIO()
    c.convergence_report(tmp_path / "curves.csv", lambda line="": buf.write(line + "\n"))
    assert "| mnist1d | nn | 100 | mnist1d | relu | 2 | 40 | 1 [1, 1] | 1 | **no** |" in buf.getvalue()
    (png,) = c.plot_curves(tmp_path / "curves.csv", tmp_path / "fig")
    assert png.name == "curves-mnist1d-nn-w100-from-mnist1d-e40.png" and png.stat().st_size > 1000


def test_eval_records_keep_the_last_record_of_a_resumed_run(tmp_path: Path) -> None:
    c = _curves()
    recs = [
        {"phase": "meta", "model": "nn", "val_loss": 1.0},
        {"phase": "eval", "model": "nn", "arm": "mix", "seed": 0, "val_mse": 3.0},
        {"phase": "eval", "model": "nn", "arm": "mix", "seed": 1, "val_mse": 4.0},
        {"phase": "eval", "model": "nn", "arm": "mix", "seed": 0, "val_mse": 5.0},  # logged again after a resume
        {"phase": "eval", "model": "hnn", "arm": "mix", "seed": 0, "val_mse": 6.0},
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    got = [(r["model"], r["seed"], r["val_mse"]) for r in c.eval_records(tmp_path)]
    assert got == [("nn", 0, 5.0), ("nn", 1, 4.0), ("hnn", 0, 6.0)]
