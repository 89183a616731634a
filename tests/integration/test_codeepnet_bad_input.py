"""Bad methylation input stops the codeepnet experiment before any training (issue 15, point 9): one line, exit 2.

Before, a CSV with too few aged samples ran the genetic search on infinite fitness (an empty validation split) and
died in scikit-learn with exit 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from coterie.cli import app
from coterie.data.methylation import simulate_methylation, split_samples
from coterie.data.methylation.preprocess import TooFewSamplesError

ROOT = Path(__file__).resolve().parents[2]


def _write_csv(path: Path, n_samples: int, n_aged: int) -> None:
    d = simulate_methylation(n_samples, 30, 10, seed=1)
    table = d.betas.copy()
    ages = d.ages.to_numpy().astype(float)
    ages[n_aged:] = np.nan  # samples without an age are dropped before the split
    table.insert(0, "age", ages)
    table.index.name = "sample"
    table.to_csv(path)


@pytest.mark.parametrize("n_aged", [1, 3])
def test_too_few_aged_samples_is_one_line_and_exit_2(tmp_path: Path, n_aged: int) -> None:
    csv = tmp_path / "cohort.csv"
    _write_csv(csv, 30, n_aged)
    out = tmp_path / "run"
    res = CliRunner().invoke(
        app,
        [
            "run",
            str(ROOT / "configs/codeepnet-age-ci.yaml"),
            "--data-file",
            str(csv),
            "--out",
            str(out),
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 2, res.output
    errors = [ln for ln in res.output.splitlines() if "too few samples with an age" in ln]
    assert len(errors) == 1, res.output
    assert f"too few samples with an age to split: {n_aged} make train" in errors[0]
    assert "Traceback" not in res.output
    # nothing was trained: no search history, checkpoint, figure or results
    assert not (out / "results.json").exists() and not (out / "checkpoints").exists()
    assert not list(out.glob("*.png"))
    metrics = out / "metrics.jsonl"
    assert not metrics.exists() or metrics.read_text() == ""


def test_split_samples_limits() -> None:
    """Four aged samples at 0.2/0.2 are the fewest that split (2/1/1); three are refused, naming the sizes."""
    tr, va, te = split_samples(np.array([20.0, 30.0, 40.0, 50.0]), 0.2, 0.2, seed=0)
    assert (len(tr), len(va), len(te)) == (2, 1, 1)
    with pytest.raises(TooFewSamplesError, match="train 1, validation 1, test 1"):
        split_samples(np.array([20.0, 30.0, 40.0]), 0.2, 0.2, seed=0)
    tr, va, te = split_samples(np.array([20.0, 30.0]), 0.0, 0.0, seed=0)  # no validation or test asked for
    assert (len(tr), len(va), len(te)) == (2, 0, 0)


def test_missing_data_file_is_bad_input(tmp_path):
    """A --data-file that does not exist: one line, exit 2 (bad input), not a failed run (exit 1)."""
    from typer.testing import CliRunner

    from coterie.cli import app

    res = CliRunner().invoke(
        app, ["run", "codeepnet-age-ci", "--out", str(tmp_path / "run"), "--data-file", str(tmp_path / "nope.csv")]
    )
    assert res.exit_code == 2, res.output
    assert "methylation data file not found" in res.output
