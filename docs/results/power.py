"""The power figures the study READMEs quote, computed from each study's design (seeds, test, α), not from its data.

For a paired comparison over n seeds, in units of the seed-to-seed standard deviation of the difference:

- half-width: the two-sided 95 % Student-t interval's half-width, t(0.975, n-1) / √n;
- MDE: the true mean difference a two-sided paired t-test at level α detects with 80 % power (non-central t);
- point-estimate bound: the true advantage at which the observed mean still falls at or below zero with 5 %
  probability — a "does not hold" that reads the sign of the mean excludes an advantage this large.

The exact Wilcoxon signed-rank test (the learned-diversity and co-learning studies) needs ~5 % more than the t-test's
MDE (asymptotic relative efficiency 3/π ≈ 0.955); its smallest two-sided p with n seeds is 2 / 2^n.

Run: ``python docs/results/power.py``
"""

from __future__ import annotations

import math
import sys

from scipy import optimize, stats

DESIGNS = [  # study, what, seeds, α of the test (Holm's first step where the study corrects)
    ("merging", "paired Δ over seeds (t-interval)", 5, 0.05),
    ("robustness", "paired cells, 5 seeds", 5, 0.05),
    ("robustness", "PARL/K ablation (H6, H7), 3 seeds", 3, 0.05),
    ("learned-diversity", "mix vs an arm, α = 0.05", 20, 0.05),
    ("learned-diversity", "mix vs an arm, Holm's first step over 5 arms", 20, 0.05 / 5),
]


def half_width(n: int) -> float:
    return float(stats.t.ppf(0.975, n - 1) / n**0.5)


def power(d: float, n: int, alpha: float) -> float:
    """Power of the two-sided paired t-test at level ``alpha`` for a true effect of ``d`` sd over ``n`` pairs."""
    crit, nc = stats.t.ppf(1 - alpha / 2, n - 1), d * n**0.5
    wrong_side = float(stats.nct.cdf(-crit, n - 1, nc))  # underflows to NaN for large effects: it is 0 there
    return float(stats.nct.sf(crit, n - 1, nc)) + (0.0 if math.isnan(wrong_side) else wrong_side)


def mde(n: int, alpha: float, target: float = 0.8) -> float:
    return float(optimize.brentq(lambda d: power(d, n, alpha) - target, 1e-3, 8.0))


def sign_bound(n: int, miss: float = 0.05) -> float:
    """The advantage (sd) at which the observed mean is ≤ 0 with probability ``miss``: the mean's sign does not
    depend on the estimated sd, so this is z(1 - miss) / √n exactly."""
    return float(stats.norm.ppf(1 - miss) / n**0.5)


def main() -> None:
    out = sys.stdout
    out.write(
        f"{'study':18s} {'design':48s} {'n':>3s} {'alpha':>7s} {'half-width':>10s} {'MDE 80%':>8s} {'sign 5%':>8s}\n"
    )
    for study, what, n, alpha in DESIGNS:
        out.write(
            f"{study:18s} {what:48s} {n:3d} {alpha:7.3f} {half_width(n):10.2f} {mde(n, alpha):8.2f} "
            f"{sign_bound(n):8.2f}\n"
        )
    out.write("smallest exact two-sided Wilcoxon p: " + ", ".join(f"n={n}: {2 / 2**n:.2g}" for n in (5, 10, 20)) + "\n")


if __name__ == "__main__":
    main()
