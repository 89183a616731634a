"""Readings of the pre-registered hypotheses H1–H18 of docs/results/colearning/README.md ("Hypotheses", its
amendment, "Stability", "Table S5", "Fig S2b"), printed by summarise.py after every other number.

Each ``h<k>`` transcribes the README's criterion for H<k> (quoted in its docstring) and returns a :class:`Reading`:
the numbers the criterion uses, compactly, and the verdict — holds | holds weaker | does not hold | not resolved |
no data. "not resolved" is the README's own word for H6 at a window edge, and is also given where an outcome falls
in none of the three columns (a gap of the pre-registered table; the measured text then says "criteria gap").
Missing data (an arm, N, β or column that is not there) gives "no data", never an error. Every statistic comes
from summarise.py's helpers (optimum, gains, wilcoxon_p, holm, bootstrap_ci, slope_fit, slope_ci, cliff), so the
figures are the ones printed above. Literal conventions, fixed here:

- hypotheses are read on the exact eq. (1) rows of an arm (no log floor), mean rule unless said otherwise, over the
  N present in its runs.csv (a grid still incomplete is said in the header; the reading is then provisional);
- "higher"/"lower": the seed mean of the differences paired by seed (at β minus at β = 0) is > 0 / < 0; "p" is
  summarise.wilcoxon_p of those differences (two-sided exact, zeros dropped);
- accuracies (H1, H2, H4, H5, H15, H16) keep diverged runs; the structural quantities (H8–H14) leave them out
  (README "Setup"); β*_neg is always located on every run's validation accuracy, as summarise.py does;
- "p < 0.05 at some" / "in some" (H2, H8, H10): at least one of the tests the "holds" column requires has p < 0.05.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
HOLDS, WEAKER, NOT, UNRESOLVED, NO_DATA = "holds", "holds weaker", "does not hold", "not resolved", "no data"
PREREGISTERED_N = {"mlp": (2, 5, 10, 20), "cnn": (2, 5)}
VOTERS_N = {"mlp": 10, "cnn": 5}  # H11: N = 10 (MLP) / 5 (CNN)
POSITIVE = 0.47  # H8, H15: the grid's +0.47
ALPHA = 0.05
PAPER_SLOPE = -0.99
E6_STEP = 1 / 6  # one step of the E6 grid in log10 β (factor ≈ 1.468)


def _load_summarise():
    """summarise.py from beside this file (the directory is not a package; nothing is registered in sys.modules)."""
    spec = importlib.util.spec_from_file_location("colearning_summarise_helpers", HERE / "summarise.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


S = _load_summarise()


class Reading(NamedTuple):
    """One hypothesis read on one arm: the numbers the criterion uses, and the verdict."""

    measured: str
    verdict: str


class NoDataError(Exception):
    """Raised inside a reading when something the criterion needs is not in the runs (caught: "no data")."""


class Cmp(NamedTuple):
    """One paired comparison against β = 0: its text, whether the direction is the claimed one, p < 0.05."""

    text: str
    right: bool
    sig: bool


# ---------------------------------------------------------------------------------------------------- helpers
def need(cond: object, what: str) -> None:
    if not cond:
        raise NoDataError(what)


def sizes(df: pd.DataFrame) -> list[int]:
    need(len(df) and "N" in df, "no runs")
    return sorted(int(n) for n in df["N"].unique())


def stable(df: pd.DataFrame) -> pd.DataFrame:
    """Runs that did not diverge (the structural comparisons' runs)."""
    return df[~df["diverged"].fillna(False).astype(bool)] if "diverged" in df else df


def beta_neg(df: pd.DataFrame, n: int, rule: str = "mean") -> float:
    """β*_neg of size ``n``: validation argmax over β < 0 (summarise.optimum), with the given rule."""
    col = f"val.{S.RULES[rule]}"
    need(col in df, f"column {col}")
    return S.optimum(df, n, col, negative_only=True)


def paired(df: pd.DataFrame, n: int, col: str, b: float) -> np.ndarray:
    """Differences at β = ``b`` minus β = 0, paired by seed, at size ``n`` (shape (seeds,))."""
    need(col in df, f"column {col}")
    t = S.table(df, n, col)
    need(b in t.columns and 0.0 in t.columns, f"N={n}: β={b:g} or β=0")
    d = (t[b] - t[0.0]).dropna().to_numpy()
    need(len(d), f"N={n}: no seed at both β={b:g} and β=0")
    return d


def compare(df: pd.DataFrame, n: int, col: str, b: float, sign: int, label: str = "", scale: float = 1.0) -> Cmp:
    """Paired comparison of ``col`` at β = ``b`` with β = 0; ``sign`` +1 if the claim is "higher", −1 "lower"."""
    d = paired(df, n, col, b)
    p = S.wilcoxon_p(d)
    nd = 2 if scale == 100 else 4
    text = f"N={n}{' ' + label if label else ''} β={b:g}: {d.mean() * scale:+.{nd}f} (p {p:.3g})"
    return Cmp(text, bool(d.mean() * sign > 0), p < ALPHA)


def tiered(cmps: list[Cmp]) -> str:
    """ "holds: right direction, p < 0.05, everywhere; holds weaker: direction right everywhere, p < 0.05 at some;
    does not hold: wrong direction somewhere" (H2, H8, H10). Right everywhere but no p < 0.05: not resolved."""
    if not all(c.right for c in cmps):
        return NOT
    if all(c.sig for c in cmps):
        return HOLDS
    return WEAKER if any(c.sig for c in cmps) else UNRESOLVED


def single(c: Cmp) -> str:
    """ "holds: higher, p < 0.05; holds weaker: higher in seed mean; does not hold: not higher" (H9, H11)."""
    return (HOLDS if c.sig else WEAKER) if c.right else NOT


def joined(cmps: list[Cmp], verdict: str) -> Reading:
    gap = "; criteria gap: direction right everywhere, no p < 0.05" if verdict == UNRESOLVED else ""
    return Reading("; ".join(c.text for c in cmps) + gap, verdict)


def pp(x: float) -> str:
    return f"{x * 100:+.2f}"


# ----------------------------------------------------------------------------------------- H1–H7 (accuracy)
def h1(df: pd.DataFrame) -> Reading:
    """H1, the ensemble beats its members (Fig 2c). Measure: "test ens − mean member at every (N, β) with < half the
    runs diverged". holds: "seed-mean gap > 0 in every such cell"; holds weaker: "> 0 in every cell with β ≤ 0
    only"; does not hold: "some cell with β ≤ 0 has gap ≤ 0". Literal reading: a collapsed cell whose runs stayed
    finite (not diverged) counts; the text says when the worst cell lies at or past the cliff β_c."""
    need({"test.ens_acc_mean", "test.member_acc_mean"} <= set(df.columns), "accuracy columns")
    g = df.assign(gap=df["test.ens_acc_mean"] - df["test.member_acc_mean"], div=~df.index.isin(stable(df).index))
    cells = g.groupby(["N", "beta"]).agg(gap=("gap", "mean"), div=("div", "mean")).reset_index()
    kept = cells[cells["div"] < 0.5]
    need(len(kept), "no cell with < half the runs diverged")
    parts = [f"{len(kept)} cells ({len(cells) - len(kept)} left out, ≥ half diverged)"]
    for name, part in (("β ≤ 0", kept[kept.beta <= 0]), ("β > 0", kept[kept.beta > 0])):
        if len(part):
            w = part.loc[part.gap.idxmin()]
            bc = S.cliff(df, int(w.N))
            past = f", past β_c {bc:g}" if bc is not None and w.beta <= bc else ""
            parts.append(
                f"{name}: {int((part.gap <= 0).sum())} with gap ≤ 0, min {pp(w.gap)} pp "
                f"(N={int(w.N)}, β={w.beta:g}{past})"
            )
    neg_ok = bool((kept[kept.beta <= 0].gap > 0).all())
    verdict = (HOLDS if bool((kept.gap > 0).all()) else WEAKER) if neg_ok else NOT
    return Reading("; ".join(parts), verdict)


def h2(df: pd.DataFrame) -> Reading:
    """H2, members get worse as β grows more negative (Figs 2b, 2c, S2c). Measure: "member test acc at β*_neg vs
    β = 0". holds: "lower at every N with p < 0.05"; holds weaker: "lower in seed mean at every N, p < 0.05 at
    some"; does not hold: "not lower at some N". Member accuracy is an accuracy figure: diverged runs stay."""
    cmps = [compare(df, n, "test.member_acc_mean", beta_neg(df, n), -1, scale=100) for n in sizes(df)]
    return joined(cmps, tiered(cmps))


def h3(df: pd.DataFrame, rule: str = "mean") -> Reading:
    """H3, the optimal coupling is negative (Figs 2c, 3a). Measure: "β* over all β (val)". holds: "β* < 0 at every
    N"; holds weaker: "β* < 0 at some N"; does not hold: "β* ≥ 0 at every N"."""
    col = f"val.{S.RULES[rule]}"
    need(col in df, f"column {col}")
    bs = {n: S.optimum(df, n, col) for n in sizes(df)}
    neg = [b < 0 for b in bs.values()]
    verdict = HOLDS if all(neg) else WEAKER if any(neg) else NOT
    return Reading("β* " + ", ".join(f"N={n}: {b:g}" for n, b in bs.items()), verdict)


def h4(df: pd.DataFrame, rule: str = "mean") -> Reading:
    """H4, negatively coupled ensembles are more accurate (Fig 3a/b). Measure: "test gain at β*_neg; and any β < 0
    with gain > 0 at Holm p < 0.05". holds: "CI of the gain at β*_neg > 0 and a β < 0 with Holm p < 0.05, at every
    N"; holds weaker: "either at some N"; does not hold: "neither at any N". (Holm over the β ≠ 0 of that N.)"""
    need(f"test.{S.RULES[rule]}" in df, f"column test.{S.RULES[rule]}")
    parts, both, either = [], [], []
    for n in sizes(df):
        g = S.gains(df, n, rule).set_index("beta")
        b = beta_neg(df, n, rule)
        r = g.loc[b]
        sig = g[(g.index < 0) & (g.gain > 0) & (g.p_holm < ALPHA)].index
        ci_pos, any_sig = bool(r.ci_lo > 0), len(sig) > 0
        both.append(ci_pos and any_sig)
        either.append(ci_pos or any_sig)
        parts.append(
            f"N={n} β*_neg={b:g}: {pp(r.gain)} [{pp(r.ci_lo)}, {pp(r.ci_hi)}] pp, "
            f"Holm-significant gain at β < 0: {', '.join(f'{x:g}' for x in sig) or 'none'}"
        )
    verdict = HOLDS if all(both) else WEAKER if any(either) else NOT
    return Reading("; ".join(parts), verdict)


def h5(df: pd.DataFrame) -> Reading:
    """H5, the gain grows with N (Fig 3a/b). Measure: "gain at β*_neg(N_max) − gain at β*_neg(N_min), paired by
    seed". holds: "CI > 0"; holds weaker: "seed-mean difference > 0, CI includes 0"; does not hold: "≤ 0". N_min and
    N_max are the smallest and largest N present (as summarise.py's "Gain growth" line)."""
    ns = sizes(df)
    need(len(ns) >= 2, "fewer than two N")
    d = pd.concat([gain_by_seed(df, ns[0]).rename("a"), gain_by_seed(df, ns[-1]).rename("z")], axis=1).dropna()
    need(len(d), "no seed at both N")
    diff = (d.z - d.a).to_numpy()
    lo, hi = S.bootstrap_ci(diff)
    verdict = HOLDS if lo > 0 else WEAKER if diff.mean() > 0 else NOT
    return Reading(f"N={ns[-1]} minus N={ns[0]}: {pp(diff.mean())} pp [{pp(lo)}, {pp(hi)}]", verdict)


def gain_by_seed(df: pd.DataFrame, n: int) -> pd.Series:
    """Test gain (mean rule) at β*_neg over β = 0 at size ``n``, per seed (index: seed)."""
    t, b = S.table(df, n, "test.ens_acc_mean"), beta_neg(df, n)
    need(b in t.columns and 0.0 in t.columns, f"N={n}: β*_neg or β=0")
    return t[b] - t[0.0]


def slope_verdict(lo: float, hi: float, at_edge: bool) -> str:
    """H6's columns on the slope CI [lo, hi]. holds: "CI contains −0.99 and excludes 0"; holds weaker: "CI excludes
    0 but not −0.99 (β* falls with N, at another rate)" — read literally as: CI excludes 0 and −0.99 and lies
    below 0; does not hold: "CI contains 0, or a β*_neg is at its window's edge (not resolved)" — an edge gives
    "not resolved" (the README's "Grid" section: "the slope is then read as 'not resolved'"). A CI wholly above 0
    (β* growing with N) is in no column: not resolved."""
    if at_edge:
        return UNRESOLVED
    if lo <= 0 <= hi:
        return NOT
    if lo <= PAPER_SLOPE <= hi:
        return HOLDS
    return WEAKER if hi < 0 else UNRESOLVED


def h6(df: pd.DataFrame) -> Reading:
    """H6, β* ∝ 1/N (Fig 3c). Measure: "OLS slope over N of log|β*_neg|, bootstrap CI resampling seeds jointly
    across N (2,000)"; the columns are in :func:`slope_verdict`. The window of an N is the range of its β < 0 in the
    runs (as summarise.py's "β*_neg at window edge")."""
    ns = sizes(df)
    need(len(ns) >= 2, "fewer than two N")
    edges = []
    for n in ns:
        negs = sorted(b for b in df[df["N"] == n].beta.unique() if b < 0)
        if beta_neg(df, n) in (negs[0], negs[-1]):
            edges.append(n)
    slope, _ = S.slope_fit(df, ns)
    lo, hi = S.slope_ci(df, ns)
    edge = f"; β*_neg at its window's edge at N = {edges}" if edges else "; no β*_neg at a window edge"
    return Reading(
        f"slope {slope:.3f}, CI [{lo:.3f}, {hi:.3f}] over N = {ns}{edge}", slope_verdict(lo, hi, bool(edges))
    )


def h7(df: pd.DataFrame) -> Reading:
    """H7, the optimum is at β̄ ≈ −1 (Fig 3d). Measure: "β̄*_neg = N·β*_neg". holds: "within [−2, −0.5] at every
    N"; holds weaker: "at some N"; does not hold: "at no N" (interval closed)."""
    bbar = {n: n * beta_neg(df, n) for n in sizes(df)}
    inside = [-2 <= b <= -0.5 for b in bbar.values()]
    verdict = HOLDS if all(inside) else WEAKER if any(inside) else NOT
    return Reading("β̄*_neg " + ", ".join(f"N={n}: {b:.3g}" for n, b in bbar.items()), verdict)


# ---------------------------------------------------------------------------------------- H8–H14 (structure)
def h8(df: pd.DataFrame) -> Reading:
    """H8, negatively coupled members are more diverse (Fig 4a). Measure: "test mean pairwise JS at β*_neg vs 0;
    and at +0.47 vs 0". holds: "higher at β*_neg and lower at +0.47, p < 0.05, every N"; holds weaker: "direction
    right at every N, p < 0.05 at some"; does not hold: "wrong direction at some N"."""
    ok = stable(df)
    cmps = []
    for n in sizes(df):
        cmps.append(compare(ok, n, "test.mean_js", beta_neg(df, n), +1))
        cmps.append(compare(ok, n, "test.mean_js", POSITIVE, -1))
    return joined(cmps, tiered(cmps))


def h9(df: pd.DataFrame) -> Reading:
    """H9, more samples on the "walls" (Fig 5a, N = 2). Measure: "wall fraction, N = 2, β*_neg vs 0". holds:
    "higher, p < 0.05"; holds weaker: "higher in seed mean"; does not hold: "not higher"."""
    need(2 in sizes(df), "N=2")
    c = compare(stable(df), 2, "analysis.test.wall_fraction", beta_neg(df, 2), +1)
    return Reading(c.text, single(c))


def h10(df: pd.DataFrame) -> Reading:
    """H10, more confident members (Figs 5b, S5). Measure: "member entropy (lower) and low-entropy fraction
    (higher), N = 2 and the largest N, β*_neg vs 0". holds: "both, p < 0.05, at both N"; holds weaker: "direction
    right in both, p < 0.05 in some"; does not hold: "wrong direction somewhere". Largest N: the largest present."""
    ns = sizes(df)
    need(2 in ns, "N=2")
    ok, cmps = stable(df), []
    for n in sorted({2, ns[-1]}):
        b = beta_neg(df, n)
        cmps.append(compare(ok, n, "analysis.test.member_entropy_mean", b, -1, "entropy"))
        cmps.append(compare(ok, n, "analysis.test.member_low_entropy_fraction", b, +1, "low-entropy"))
    return joined(cmps, tiered(cmps))


def h11(df: pd.DataFrame, n: int = 10) -> Reading:
    """H11, tighter votes–confidence correlation (Fig 5c). Measure: "Spearman r of ensemble p(correct) vs correct
    voters, N = 10 (MLP) / 5 (CNN), β*_neg vs 0". holds: "higher, p < 0.05"; holds weaker: "higher in seed mean";
    does not hold: "not higher"."""
    need(n in sizes(df), f"N={n}")
    c = compare(stable(df), n, "analysis.test.voters_spearman_r", beta_neg(df, n), +1)
    return Reading(c.text, single(c))


def layers(df: pd.DataFrame, prefix: str) -> list[Cmp]:
    """Per-layer comparisons at N = 2, β*_neg vs 0 (the amendment: H12–H14 are read at β*_neg only)."""
    need(2 in sizes(df), "N=2")
    cols = sorted(c for c in df.columns if c.startswith(prefix))
    need(cols, f"columns {prefix}*")
    b, ok = beta_neg(df, 2), stable(df)
    return [compare(ok, 2, c, b, +1, c.removeprefix(prefix)) for c in cols]


def some_layers(df: pd.DataFrame, prefix: str) -> Reading:
    """H12/H13 columns: holds "higher in every layer, p < 0.05"; holds weaker "higher in some layers"; does not hold
    "lower or unchanged in every layer" / "not higher in any" (higher: seed-mean paired difference > 0)."""
    cmps = layers(df, prefix)
    verdict = HOLDS if all(c.right and c.sig for c in cmps) else WEAKER if any(c.right for c in cmps) else NOT
    return Reading("; ".join(c.text for c in cmps), verdict)


def h12(df: pd.DataFrame) -> Reading:
    """H12, sparser activity (Fig 6a, Table S3). Measure: "inactive fraction, both hidden layers (MLP) / every ReLU
    (CNN), N = 2, at β*_neg" (amended) "vs 0". holds: "higher in every layer, p < 0.05"; holds weaker: "higher in
    some layers"; does not hold: "lower or unchanged in every layer". Layers: every recorded one."""
    return some_layers(df, "analysis.test.inactive_fraction.")


def h13(df: pd.DataFrame) -> Reading:
    """H13, higher mean activation (Fig 6b, Table S3). Measure: "mean activation per layer, as H12". holds: "higher
    in every layer, p < 0.05"; holds weaker: "higher in some"; does not hold: "not higher in any"."""
    return some_layers(df, "analysis.test.mean_activation.")


def h14(df: pd.DataFrame) -> Reading:
    """H14, wider weights (Fig 6c, Table S4). Measure: "weight std per layer, as H12". holds: "higher in every layer,
    p < 0.05, by ≥ 20 %"; holds weaker: "higher in every layer, p < 0.05, by < 20 %"; does not hold: "not higher in
    some layer". "by": change of the seed means (summarise.py's "change" column), ≥ 20 % needed in every layer.
    Higher in every layer but p ≥ 0.05 in some is in no column: not resolved."""
    cmps = layers(df, "analysis.test.weight_std.")
    ok, b = stable(df), beta_neg(df, 2)
    rel = {}
    for c in sorted(x for x in df.columns if x.startswith("analysis.test.weight_std.")):
        t = S.table(ok, 2, c)
        rel[c.removeprefix("analysis.test.weight_std.")] = t[b].mean() / t[0.0].mean() - 1
    text = "; ".join(c.text for c in cmps) + "; change " + ", ".join(f"{k} {v * 100:+.1f} %" for k, v in rel.items())
    if not all(c.right for c in cmps):
        return Reading(text, NOT)
    if not all(c.sig for c in cmps):
        return Reading(text + "; criteria gap: higher everywhere, not p < 0.05 everywhere", UNRESOLVED)
    return Reading(text, HOLDS if all(v >= 0.20 for v in rel.values()) else WEAKER)


# ------------------------------------------------------------------------------------------------- H15, H16
def h15(df: pd.DataFrame) -> Reading:
    """H15, positive coupling hurts (Figs 2c, 3a). Measure: "test gain at +0.47 vs 0". holds: "CI < 0 at every N";
    holds weaker: "seed mean < 0 at every N"; does not hold: "≥ 0 at some N"."""
    rows = []
    for n in sizes(df):
        g = S.gains(df, n).set_index("beta")
        need(POSITIVE in g.index, f"N={n}: β=+{POSITIVE}")
        rows.append((n, g.loc[POSITIVE]))
    text = "; ".join(f"N={n}: {pp(r.gain)} [{pp(r.ci_lo)}, {pp(r.ci_hi)}] pp" for n, r in rows)
    neg = [r.gain < 0 for _, r in rows]
    verdict = (HOLDS if all(r.ci_hi < 0 for _, r in rows) else WEAKER) if all(neg) else NOT
    return Reading(text, verdict)


def h16(df: pd.DataFrame) -> Reading:
    """H16, other combination rules agree (Fig S3). Measure: "H3 and H4 with the geometric mean and majority vote
    (β* located with that rule)". holds: "same readings as the mean rule for both rules"; holds weaker: "for one
    rule"; does not hold: "for neither". A rule agrees when both its H3 and its H4 verdicts equal the mean rule's."""
    ref = (h3(df).verdict, h4(df).verdict)
    parts, agree = [f"mean: H3 {ref[0]}, H4 {ref[1]}"], 0
    for rule in ("geometric", "vote"):
        got = (h3(df, rule).verdict, h4(df, rule).verdict)
        agree += got == ref
        parts.append(f"{rule}: H3 {got[0]}, H4 {got[1]}")
    return Reading("; ".join(parts), {2: HOLDS, 1: WEAKER, 0: NOT}[agree])


# ------------------------------------------------------------------------------------ H17 (Table S5), H18 (S2b)
def better_in_all(ex: pd.DataFrame, a: str, b: str) -> tuple[bool, float, str]:
    """Is ``a`` better than ``b`` in every seed (the README's "5/5 seeds")? Also the seed-mean a − b and "k/n"."""
    d = (ex[f"test_acc.{a}"] - ex[f"test_acc.{b}"]).dropna()
    need(len(d), f"no seed with both {a} and {b}")
    return bool((d > 0).all()), float(d.mean()), f"{int((d > 0).sum())}/{len(d)}"


def h17(ex: pd.DataFrame | None) -> Reading:
    """H17, expansions do not beat training 15 from scratch (Table S5). "H17 holds if add-freeze (both β̄) and every
    boosting variant are not better than the base in 5/5 seeds, and 15-from-scratch (200 epochs) is better than
    every expansion in 5/5 seeds; holds weaker if only the first part holds or scratch wins in seed mean only; does
    not hold if an expansion or boosting variant is better than scratch (200) in seed mean." Literal readings:
    "expansion" = add-freeze (each β̄) and add-retrain (boosting is named apart); scratch (200) = the longest
    scratch run; "5/5" = every seed present; the does-not-hold clause is checked first; a case in no clause (first
    part fails, scratch wins in 5/5) is not resolved."""
    need(ex is not None and len(ex), "no expansion runs")
    names = [c.removeprefix("test_acc.") for c in ex.columns if c.startswith("test_acc.") and ex[c].notna().any()]
    freeze = [k for k in names if k.startswith("add-freeze")]
    boost = [k for k in names if k.startswith("boost")]
    expansions = freeze + [k for k in names if k == "add-retrain"]
    scratch = sorted((k for k in names if k.startswith("scratch_")), key=lambda k: int(k[8:].removesuffix("ep")))
    need("base" in names and freeze and boost and scratch, "base, add-freeze, boosting or scratch columns")
    top = scratch[-1]
    vs_base = {k: better_in_all(ex, k, "base") for k in freeze + boost}
    vs_top = {k: better_in_all(ex, top, k) for k in expansions}
    beats_top = [k for k in expansions + boost if better_in_all(ex, k, top)[1] > 0]
    first = not any(v[0] for v in vs_base.values())
    second = all(v[0] for v in vs_top.values())
    mean_win = all(v[1] > 0 for v in vs_top.values())
    text = (
        "better than base (seeds): "
        + ", ".join(f"{k} {v[2]}" for k, v in vs_base.items())
        + f"; {top} better than (seeds, mean pp): "
        + ", ".join(f"{k} {v[2]} {pp(v[1])}" for k, v in vs_top.items())
        + f"; better than {top} in seed mean: {', '.join(beats_top) or 'none'}"
    )
    if beats_top:
        return Reading(text, NOT)
    if first and second:
        return Reading(text, HOLDS)
    if (first or mean_win) and not second:
        return Reading(text, WEAKER)
    return Reading(text + "; criteria gap", UNRESOLVED)


def h18(lr: pd.DataFrame | None) -> Reading:
    """H18, learning converges by 150 of 300 epochs; coupled members fluctuate more (Figs S2b, 2a). "H18 holds if for
    every β the mean |Δ| over epochs 150–300 is at least 5× smaller than over epochs 1–10 and not larger than over
    50–150 (converged by 150), and |Δ| over 150–300 is larger at β = −0.47 than at 0 in 5/5 seeds (Fig 2a: coupled
    members fluctuate more); weaker if only the convergence part holds; does not hold if |Δ| over 150–300 is not
    below that over 1–10 by 5×." Mean |Δ| = seed mean per β; "5/5" = every seed present. 5× below 1–10 for every
    β but above 50–150 for some β is in no clause: not resolved."""
    need(lr is not None and len(lr), "no long-run runs")
    early, mid, late = (f"val.abs_change.e{w}" for w in ("1-10", "50-150", "150-300"))
    need({early, mid, late} <= set(lr.columns), "|Δ| windows 1–10, 50–150, 150–300")
    m = lr.groupby("beta")[[early, mid, late]].mean()
    five = m[late] * 5 <= m[early]
    conv = five & (m[late] <= m[mid])
    t = lr.pivot_table(index="seed", columns="beta", values=late)
    need(-0.47 in t.columns and 0.0 in t.columns, "β = −0.47 and 0")
    d = (t[-0.47] - t[0.0]).dropna()
    fluct = bool(len(d) and (d > 0).all())
    text = (
        "; ".join(
            f"β={b:g}: 150–300 {r[late] * 100:.3f} pp vs 1–10 {r[early] * 100:.3f} (×{r[early] / r[late]:.1f}), "
            f"50–150 {r[mid] * 100:.3f}"
            for b, r in m.iterrows()
        )
        + f"; 150–300 larger at −0.47 than at 0 in {int((d > 0).sum())}/{len(d)} seeds"
    )
    if not five.all():
        return Reading(text, NOT)
    if conv.all():
        return Reading(text, HOLDS if fluct else WEAKER)
    return Reading(text + "; criteria gap: 5× below 1–10 but above 50–150", UNRESOLVED)


# -------------------------------------------------------------------------------------------------- stability
def grid_steps(a: float, b: float) -> int:
    """Distance of two β of the E6 grid in grid steps (factor ≈ 1.47 each)."""
    return round(abs(np.log10(abs(a) / abs(b))) / E6_STEP)


def stability_rows(df: pd.DataFrame) -> list[dict[str, object]]:
    """README "Stability": β_c of each variant and N (summarise.cliff), β̄_c = Nβ_c, whether β*_neg lies before the
    cliff (|β*| < |β_c|), β_c/β*; for a log-floor variant also the pre-registered expectation (not a paper claim):
    "the log floor moves the collapse to more negative β without moving β* by more than one grid step" against the
    exact eq. (1) at the same N. The log-floor sub-grid has no β = 0 run; β = 0 does not depend on the floor, so its
    "5 pp below β = 0" reference is the exact eq. (1) β = 0 runs of the same seeds."""
    vs = S.variants(df)
    exact = vs.get("exact eq. (1)")
    rows = []
    for name, g in vs.items():
        for n in sizes(g):
            gn = g[g["N"] == n]
            if exact is not None and 0.0 not in set(gn.beta):
                base = exact[(exact["N"] == n) & (exact.beta == 0) & exact.seed.isin(set(gn.seed))]
                gn = pd.concat([gn, base], ignore_index=True)
            bc, bs = S.cliff(gn, n), S.optimum(g, n, negative_only=True)
            row = {
                "variant": name,
                "N": n,
                "β_c (β̄_c)": "none on grid" if bc is None else f"{bc:g} ({n * bc:.3g})",
                "β*_neg": f"{bs:g}",
                "β*_neg before the cliff": "yes" if bc is None or bs > bc else "NO",
                "β_c / β*": "n/a" if bc is None else f"{bc / bs:.2f}",
                "expectation (log floor)": "—",
            }
            if name != "exact eq. (1)" and exact is not None and n in set(exact["N"]):
                bc0, bs0 = S.cliff(exact, n), S.optimum(exact, n, negative_only=True)
                moved = bc0 is not None and (bc is None or bc < bc0)
                steps = grid_steps(bs, bs0)
                ok = "as expected" if moved and steps <= 1 else "not as expected"
                ok = "n/a (exact eq. (1) has no collapse on the grid)" if bc0 is None else ok
                row["expectation (log floor)"] = (
                    f"{ok}: β_c exact {'none' if bc0 is None else f'{bc0:g}'}, "
                    f"β*_neg exact {bs0:g} ({steps} grid steps)"
                )
            rows.append(row)
    return rows


# ----------------------------------------------------------------------------------------------------- driver
ARM_HYPOTHESES: tuple[tuple[str, Callable[[pd.DataFrame], Reading]], ...] = (
    ("H1", h1),
    ("H2", h2),
    ("H3", h3),
    ("H4", h4),
    ("H5", h5),
    ("H6", h6),
    ("H7", h7),
    ("H8", h8),
    ("H9", h9),
    ("H10", h10),
    ("H11", h11),
    ("H12", h12),
    ("H13", h13),
    ("H14", h14),
    ("H15", h15),
    ("H16", h16),
)


def guarded(fn: Callable[..., Reading], *args: object) -> Reading:
    """``fn(*args)``, or "no data" (with what is missing) when the runs lack something the criterion needs."""
    try:
        return fn(*args)
    except NoDataError as e:
        return Reading(f"missing: {e}", NO_DATA)
    except (KeyError, ValueError, IndexError) as e:  # a cell the pivot tables lack
        return Reading(f"missing: {type(e).__name__} {e}", NO_DATA)


def arm_readings(arm: str, df: pd.DataFrame | None) -> list[dict[str, str]]:
    """Rows H1–H16 of one arm (exact eq. (1) runs; ``df`` None: the arm's runs.csv is absent)."""
    exact = None if df is None else S.variants(df).get("exact eq. (1)")
    rows = []
    for h, fn in ARM_HYPOTHESES:
        fn = partial(h11, n=VOTERS_N[arm]) if fn is h11 else fn
        r = Reading(f"no {arm}/runs.csv (exact eq. (1))", NO_DATA) if exact is None else guarded(fn, exact)
        rows.append({"H": h, "arm": arm, "measured": r.measured, "verdict": r.verdict})
    return rows


def read_csv(path: Path) -> pd.DataFrame | None:
    return pd.read_csv(path) if path.exists() else None


def report_readings(here: Path = HERE) -> None:
    """Print the "Readings" section (Markdown) from the runs.csv files under ``here`` (whichever exist)."""
    arms = {arm: read_csv(here / arm / "runs.csv") for arm in PREREGISTERED_N}
    S.out('## Readings (README "Hypotheses": each criterion applied literally by readings.py)\n')
    for arm, df in arms.items():
        exact = None if df is None else S.variants(df).get("exact eq. (1)")
        got = [] if exact is None else sorted(int(n) for n in exact["N"].unique())
        missing = [n for n in PREREGISTERED_N[arm] if n not in got]
        state = "complete" if not missing else f"incomplete, missing N = {missing}: readings provisional"
        state = f"no {arm}/runs.csv" if df is None else state
        S.out(f"- {arm}: exact eq. (1) N = {got} of the pre-registered {list(PREREGISTERED_N[arm])} ({state})")
    S.out("")
    rows = [row for arm, df in arms.items() for row in arm_readings(arm, df)]
    for h, fn, name in (("H17", h17, "expansion"), ("H18", h18, "longrun")):
        r = guarded(fn, read_csv(here / name / "runs.csv"))
        rows.append({"H": h, "arm": f"mlp ({name})", "measured": r.measured, "verdict": r.verdict})
    S.out(S.md(rows))
    S.out('### Stability readings (README "Stability"; β_c: ≥ half diverged or test ens > 5 pp below β = 0)\n')
    for arm, df in arms.items():
        if df is not None and len(df):
            S.out(f"{arm}:\n")
            S.out(S.md(stability_rows(df)))
