"""Aggregation over repeats of the robustness experiment: sample std (ddof = 1), 95 % CI, one repeat."""

from __future__ import annotations

import math

import pytest

from coterie.experiments.robustness import mean_std


def test_sample_std_and_student_ci() -> None:
    values = [0.2, 0.4, 0.9]
    out = mean_std(values)
    m = sum(values) / 3
    s = math.sqrt(sum((v - m) ** 2 for v in values) / 2)  # ddof = 1
    assert out["mean"] == pytest.approx(m) and out["std"] == pytest.approx(s) and out["n"] == 3
    assert out["ci95"] == pytest.approx(4.302652729911275 * s / math.sqrt(3))  # t_{0.975, 2}


def test_nested_and_single_repeat() -> None:
    out = mean_std([{"a": [1.0, 2.0]}, {"a": [3.0, 2.0]}])
    assert out["a"]["mean"] == [2.0, 2.0]
    assert out["a"]["std"] == pytest.approx([math.sqrt(2.0), 0.0])
    one = mean_std([[0.5, 0.25]])
    assert one == {"mean": [0.5, 0.25], "std": [0.0, 0.0], "ci95": [0.0, 0.0], "n": 1}
