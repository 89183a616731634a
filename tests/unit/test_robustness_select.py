"""The validation selection rule of the robustness study on hand-made records with hand-derived answers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from coterie.experiments.robustness.select import main, select


def _rows(method: str, seed: int, clean: float, bim: float, rule: str = "vote") -> list[dict]:
    base = dict(seed=seed, method=method, rule=rule)
    return [
        {**base, "setting": "clean", "attack": "clean", "eps": 0.0, "accuracy": clean},
        {**base, "setting": "blackbox", "attack": "bim", "eps": 0.03, "accuracy": bim},
        # another ε and attack that the rule must ignore (they would change every answer)
        {**base, "setting": "blackbox", "attack": "bim", "eps": 0.1, "accuracy": 1.0 - bim},
        {**base, "setting": "blackbox", "attack": "fgsm", "eps": 0.03, "accuracy": 1.0 - bim},
    ]


def _records() -> list[dict]:
    r = _rows("unprotected", 0, 0.90, 0.20) + _rows("unprotected", 1, 0.90, 0.22)
    # PARL: floor 0.87. @0.1 admissible (0.89, 0.40); @0.3 admissible (0.875, 0.50) -> chosen;
    # @0.5 more robust (0.55) but 0.86 < 0.87 -> not admissible.
    for s in (0, 1):
        r += _rows("PARL@0.1", s, 0.89, 0.40) + _rows("PARL@0.3", s, 0.875, 0.50) + _rows("PARL@0.5", s, 0.86, 0.55)
    # DVERGE over two seeds: @0.03 clean (0.86+0.90)/2 = 0.88 admissible, BIM (0.30+0.50)/2 = 0.40;
    # @0.07 clean 0.88 too, BIM 0.40 too -> tie -> first listed (@0.03) wins; the mean-rule rows must be ignored.
    r += _rows("DVERGE@0.03", 0, 0.86, 0.30) + _rows("DVERGE@0.03", 1, 0.90, 0.50)
    r += _rows("DVERGE@0.07", 0, 0.88, 0.40) + _rows("DVERGE@0.07", 1, 0.88, 0.40)
    r += _rows("DVERGE@0.07", 0, 0.99, 0.99, rule="mean") + _rows("DVERGE@0.07", 1, 0.99, 0.99, rule="mean")
    # GAL: nothing admissible -> the most accurate candidate (@2: 0.82), flagged
    for s in (0, 1):
        r += _rows("GAL@1", s, 0.80, 0.60) + _rows("GAL@2", s, 0.82, 0.30)
    return r


def test_rule_by_hand() -> None:
    chosen, cands, base = select(_records())
    assert base == pytest.approx(0.90)
    assert {m: c.value for m, c in chosen.items()} == {"PARL": "0.3", "DVERGE": "0.03", "GAL": "2"}
    assert [c.admissible for c in cands if c.method == "PARL"] == [True, True, False]
    assert chosen["DVERGE"].clean == pytest.approx(0.88) and chosen["DVERGE"].robust == pytest.approx(0.40)
    assert not chosen["GAL"].admissible
    # a looser tolerance admits PARL@0.5 (0.86 >= 0.85), the most robust
    assert select(_records(), tolerance=0.05)[0]["PARL"].value == "0.5"
    # under the other attack the ignored rows decide: fgsm = 1 - bim, so PARL@0.1 (0.60) wins among admissible
    assert select(_records(), attack="fgsm")[0]["PARL"].value == "0.1"


def test_missing_baseline_and_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ValueError, match="baseline 'unprotected' missing"):
        select([r for r in _records() if r["method"] != "unprotected"])
    (tmp_path / "results.json").write_text(json.dumps({"records": _records()}))
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "chosen: PARL=0.3, DVERGE=0.03, GAL=2" in out
    assert "| PARL | 0.3 | 87.5 | 50.0 | yes | **yes** |" in out
