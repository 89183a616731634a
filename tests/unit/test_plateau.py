"""The plateau rule of meta-learning's outer loop (:class:`coterie.neurons.Plateau`) on synthetic sequences."""

from __future__ import annotations

import pytest

from coterie.neurons import Plateau


def _run(losses: list[float], **kw: object) -> tuple[int, Plateau]:
    rule = Plateau(**kw)  # type: ignore[arg-type]
    for i, v in enumerate(losses, start=1):
        if rule.update(v):
            return i, rule
    return len(losses), rule


def test_stops_patience_steps_after_the_last_real_improvement() -> None:
    # improves until step 4 (1.0 → 0.5), then moves by less than min_delta = 0.01
    seq = [1.0, 0.8, 0.6, 0.5, 0.499, 0.495, 0.52, 0.3]
    stop, rule = _run(seq, patience=3, min_delta=0.01, max_steps=100)
    assert stop == 7 and rule.reason == "plateau" and rule.best_step == 4 and rule.best == 0.5


def test_min_delta_zero_counts_any_decrease_and_max_steps_caps() -> None:
    seq = [1.0 - 1e-6 * i for i in range(50)]
    stop, rule = _run(seq, patience=2, min_delta=0.0, max_steps=20)
    assert stop == 20 and rule.reason == "max_steps"
    stop, rule = _run([3.0, 2.0, 2.0, 2.0, 1.0], patience=2, max_steps=100)
    assert stop == 4 and rule.best_step == 2  # equal is not better


def test_no_patience_runs_to_the_cap_and_nan_is_no_improvement() -> None:
    stop, rule = _run([1.0] * 10, patience=None, max_steps=6)
    assert stop == 6 and rule.reason == "max_steps"
    stop, rule = _run([1.0, float("nan"), float("nan")], patience=2, max_steps=10)
    assert stop == 3 and rule.reason == "plateau"


@pytest.mark.parametrize("kw", [{"patience": 0}, {"min_delta": -1.0}, {"max_steps": 0}])
def test_bad_settings_are_refused(kw: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kw))):
        Plateau(**kw)  # type: ignore[arg-type]
