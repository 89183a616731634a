"""docs/results/power.py: the design figures the study READMEs quote, against closed forms and a published value."""

from __future__ import annotations

from pathlib import Path

import pytest

from script_loader import load_script

P = load_script(Path(__file__).resolve().parents[2] / "docs/results/power.py", "study_power")


def test_half_width_is_the_t_quantile_over_root_n() -> None:
    assert P.half_width(5) == pytest.approx(2.776445 / 5**0.5, rel=1e-6)
    assert P.half_width(3) == pytest.approx(4.302653 / 3**0.5, rel=1e-6)


@pytest.mark.parametrize(("n", "alpha"), [(3, 0.05), (5, 0.05), (20, 0.05), (20, 0.01)])
def test_mde_is_where_power_reaches_80_percent(n: int, alpha: float) -> None:
    d = P.mde(n, alpha)
    assert P.power(d, n, alpha) == pytest.approx(0.8, abs=1e-6)
    assert P.power(0.0, n, alpha) == pytest.approx(alpha, rel=1e-6)  # no effect: the test's level


def test_mde_matches_the_textbook_value() -> None:
    assert P.mde(20, 0.05) == pytest.approx(0.66, abs=0.005)  # G*Power, paired t, n = 20, 80 %: d = 0.66


def test_sign_bound_is_where_the_mean_falls_below_zero_5_percent_of_the_time() -> None:
    from scipy import stats

    for n in (5, 20):
        d = P.sign_bound(n)
        assert stats.nct.cdf(0.0, n - 1, d * n**0.5) == pytest.approx(0.05, abs=1e-9)  # the t statistic's sign
    assert P.sign_bound(20) == pytest.approx(1.644854 / 20**0.5, rel=1e-6)
