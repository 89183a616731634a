"""docs/results/learned-diversity/readings.py: the README's per-claim verdicts on hand-made runs whose verdict is
known by construction (8 paired seeds: all-positive distinct differences give the exact two-sided Wilcoxon
p = 2/256, significant after Holm over ≤ 4 arms; 4 seeds can never be, p ≥ 2/16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]
SEEDS = range(8)


def _load(name: str) -> Any:
    return load_script(ROOT / f"docs/results/learned-diversity/{name}.py", f"ldnn_{name}_test")


R = _load("readings")
S = _load("summarise")


def _row(
    arm: str,
    seed: int,
    val: float,
    task: str = "mnist1d",
    model: str = "nn",
    width: int = 100,
    source: str | None = None,
    epochs: int = 80,
    base: str = "sin",
    flat: tuple = (0.1, 1.0, 0.5),
) -> dict:
    return {
        "task": task,
        "model": model,
        "width": width,
        "source": source or task,
        "epochs": epochs,
        "arm": arm,
        "seed": seed,
        "metric": "accuracy" if task == "mnist1d" else "mse",
        "val_metric": val,
        "test_metric": val,
        "participation_r": flat[0],
        "hessian_trace": flat[1],
        "near_zero_fraction": flat[2],
        "base": base,
    }


def _arms(diffs: dict[str, list[float]], seeds=SEEDS, **kw) -> list[dict]:
    """Rows of a setting: arm ``a`` at seed s has val 0.5 + 0.01 s; mix = type1's val + diffs['type1'][s]
    (accuracy: > 0 means mix better)."""
    rows = []
    for s in seeds:
        base = 0.5 + 0.01 * s
        rows.append(_row("mix", s, base, **kw))
        rows += [_row(a, s, base - d[s], **kw) for a, d in diffs.items()]
    return rows


POS = [0.001 * (s + 1) for s in SEEDS]  # +1..+8 ‰: all mix-better, distinct
MIXED = [0.001 * (s + 1) for s in range(7)] + [-0.008]  # mean > 0, one loss of rank 8: p ≈ 0.1
NEG = [-d for d in POS]


def _verdicts(fn, rows: list[dict]) -> list[str]:
    return [r[3] for r in fn(S.settings(rows))]


@pytest.mark.parametrize(("t2", "expected"), [(POS, "holds"), (MIXED, "weaker"), (NEG, "does not hold")])
def test_fig3(t2: list[float], expected: str) -> None:
    assert _verdicts(R.fig3, _arms({"type1": POS, "type2": t2})) == [expected]


def test_fig3_one_reading_per_budget_and_no_data() -> None:
    rows = _arms({"type1": POS, "type2": POS}) + _arms({"type1": POS, "type2": NEG}, epochs=160)
    assert _verdicts(R.fig3, rows) == ["holds", "does not hold"]
    assert _verdicts(R.fig3, []) == ["no data"]


def _sweep(per_width: dict[int, list[float]]) -> list[dict]:
    return [r for w, t2 in per_width.items() for r in _arms({"type1": POS, "type2": t2}, width=w, base="zero")]


@pytest.mark.parametrize(
    ("t2s", "expected"),
    [
        ([POS] * 5, "holds"),
        ([POS, POS, POS, NEG, NEG], "weaker"),  # holds at 3 of 5
        ([MIXED] * 5, "weaker"),  # better on average at all 5, never significant
        ([POS, POS, NEG, NEG, NEG], "does not hold"),  # a pure type as good at 3
        ([POS, POS, MIXED, NEG, NEG], "does not hold"),  # none of the three: the literal residual
    ],
)
def test_fig4(t2s: list[list[float]], expected: str) -> None:
    rows = _sweep(dict(zip((25, 50, 100, 200, 400), t2s)))
    rows += _arms({"type1": NEG, "type2": NEG})  # the main study's width 100 (base sine) must not enter Fig 4
    assert _verdicts(R.fig4, rows) == [expected]


def test_fig4_incomplete_sweep_is_no_data() -> None:
    assert _verdicts(R.fig4, _sweep({25: POS, 50: POS, 100: POS, 200: POS})) == ["no data"]


def _hh(factor: dict[str, float], seeds=SEEDS) -> list[dict]:
    """Hénon–Heiles nn and hnn; nn MSE of arm k at seed s = (k + 1) (1 + 0.1 s + 0.01 k); hnn = factor × nn."""
    rows = []
    for k, arm in enumerate(("mix", "type1", "type2", "sin")):
        for s in seeds:
            nn = (k + 1) * (1 + 0.1 * s + 0.01 * k) * 1e-3
            rows.append(_row(arm, s, nn, task="henonheiles", model="nn"))
            rows.append(_row(arm, s, factor.get(arm, 0.4) * nn, task="henonheiles", model="hnn"))
    return rows


@pytest.mark.parametrize(
    ("factor", "expected"), [({}, "holds"), ({"type2": 0.8}, "weaker"), ({"sin": 1.2}, "does not hold")]
)
def test_fig6b(factor: dict[str, float], expected: str) -> None:
    assert _verdicts(R.fig6b, _hh(factor)) == [expected]


def test_fig6b_not_significant_with_four_seeds() -> None:
    assert _verdicts(R.fig6b, _hh({}, seeds=range(4))) == ["weaker"]


def test_fig6c_hnn_mix_lowest_and_significant() -> None:
    # hnn mix is the lowest of the 8 arms (mix has the smallest nn MSE and every hnn is 0.4 × nn), and every
    # per-seed difference to the other hnn arms and to the nn mix is positive: holds.
    assert _verdicts(R.fig6c, _hh({})) == ["holds"]
    assert _verdicts(R.fig6c, _hh({"mix": 3.0})) == ["does not hold"]


def _flat(order_ok: bool, seeds=SEEDS) -> list[dict]:
    """type1/type2/mix with r 0.1/0.2/0.3, Tr H 3/2/1 (or 2/3/1), f 0.1/0.2/0.3, plus a distinct per-seed jitter."""
    rows = []
    for i, arm in enumerate(("type1", "type2", "mix")):
        for s in seeds:
            j = 0.001 * s * (i + 1)
            tr = (3 - i if order_ok else (2, 3, 1)[i]) - j
            rows.append(_row(arm, s, 0.5, flat=(0.1 * (i + 1) + j, tr, 0.1 * (i + 1) + j)))
    return rows


def test_fig8() -> None:
    assert _verdicts(R.fig8, _flat(True)) == ["holds"]
    assert _verdicts(R.fig8, _flat(True, seeds=range(4))) == ["weaker"]
    assert _verdicts(R.fig8, _flat(False)) == ["does not hold"]


def _reuse(vs_mix: list[float], vs_sin: list[float]) -> list[dict]:
    """Target mnist1d's own mix and sin, and the reused (from vanderpol) mix = own sin + vs_sin = own mix + vs_mix."""
    rows = []
    for s in SEEDS:
        reused = 0.6 + 0.01 * s
        rows += [_row("mix", s, reused, source="vanderpol"), _row("type1", s, 0.3, source="vanderpol")]
        rows += [_row("mix", s, reused - vs_mix[s]), _row("sin", s, reused - vs_sin[s])]
    return rows


@pytest.mark.parametrize(
    ("vs_mix", "vs_sin", "expected"),
    [
        (MIXED, POS, "holds"),  # better than own mix on average
        ([-d for d in MIXED], POS, "holds"),  # worse than own mix on average, not significantly (p ≈ 0.2)
        (NEG, POS, "weaker"),  # significantly worse than own mix (every seed)
        (POS, NEG, "does not hold"),  # not better than the target's sine
    ],
)
def test_reuse(vs_mix: list[float], vs_sin: list[float], expected: str) -> None:
    assert _verdicts(R.reuse, _reuse(vs_mix, vs_sin)) == [expected]


def test_report_without_data_prints_no_data(capsys: pytest.CaptureFixture[str]) -> None:
    lines: list[str] = []
    R.readings_report(_arms({"type1": POS, "type2": POS}), lines.append)
    text = "\n".join(lines)
    assert "| Fig 3 | mnist1d nn w100, E=80 |" in text and "**holds**" in text
    for claim in ("Fig 4", "Fig 5", "Fig 6(a)", "Fig 6(b)", "Fig 6(c)", "Fig 6(d)", "reuse"):
        assert f"| {claim} |" in text and "**no data**" in text
