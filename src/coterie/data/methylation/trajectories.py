"""Per-CpG age trajectories for the v2 simulator: closed-form shapes g(a), each 0 at age 0 and 1 at ``age_max``.

A CpG's mean logit is ``μ + A · g(a)``; ``A`` (signed, logit units) is its total change from birth to ``age_max``.

* ``linear``: ``g(a) = a / a_max`` — constant-rate change (the shape a linear clock such as Hannum's assumes).
* ``horvath``: ``g(a) = (F(a) − F(0)) / (F(a_max) − F(0))`` with Horvath's (2013) F: logarithmic until the adult age
  (20 years, Horvath 2013, Genome Biology 14:R115), linear after.
* ``saturating``: ``g(a) = (1 − exp(−a/τ)) / (1 − exp(−a_max/τ))`` — fast early change that levels off.
* ``accelerating``: ``g(a) = (a / a_max)^p`` with ``p > 1`` — change that speeds up late in life.
* ``sigmoidal``: ``g(a) = (s((a − m)/w) − s(−m/w)) / (s((a_max − m)/w) − s(−m/w))``, ``s`` the logistic function —
  a switch around age ``m`` of width ``w``.
* ``variance``: ``g(a) = 0`` — no change in the mean; these sites' noise grows with age instead (epigenetic drift,
  Slieker et al. 2016, Genome Biology 17:191), which only a model of the spread, not of the mean, can read.

The non-linear shapes are documented kinds of age dependence (Horvath's F; saturation in childhood; late
acceleration; switches), but their parameter ranges in the simulator are plausible choices, not fitted values.
"""

from __future__ import annotations

import numpy as np

from coterie.data.methylation.ages import horvath_transform

SHAPES: tuple[str, ...] = ("linear", "horvath", "saturating", "accelerating", "sigmoidal", "variance")


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def trajectory(
    shape: str,
    age: np.ndarray,
    *,
    age_max: float = 100.0,
    adult_age: float = 20.0,
    tau: np.ndarray | float = 10.0,
    power: np.ndarray | float = 2.0,
    midpoint: np.ndarray | float = 50.0,
    width: np.ndarray | float = 5.0,
) -> np.ndarray:
    """g(age) for ``shape`` (see the module docstring); broadcasts ``age`` against the shape parameters.

    Args:
        shape: one of :data:`SHAPES`.
        age: ages in years, any shape; parameters (``tau``, ``power``, ``midpoint``, ``width``) broadcast with it,
            e.g. age (n, 1) against per-CpG parameters (p,) gives (n, p).
    """
    a = np.asarray(age, dtype=np.float64)
    if shape == "linear":
        return a / age_max + 0.0 * np.asarray(tau)
    if shape == "horvath":
        f0 = horvath_transform(0.0, adult_age)
        return (horvath_transform(a, adult_age) - f0) / (horvath_transform(age_max, adult_age) - f0)
    if shape == "saturating":
        t = np.asarray(tau, dtype=np.float64)
        return (1.0 - np.exp(-a / t)) / (1.0 - np.exp(-age_max / t))
    if shape == "accelerating":
        return np.clip(a / age_max, 0.0, None) ** np.asarray(power, dtype=np.float64)
    if shape == "sigmoidal":
        m, w = np.asarray(midpoint, dtype=np.float64), np.asarray(width, dtype=np.float64)
        lo, hi = _logistic(-m / w), _logistic((age_max - m) / w)
        return (_logistic((a - m) / w) - lo) / (hi - lo)
    if shape == "variance":
        return np.zeros(np.broadcast_shapes(a.shape, np.shape(tau)))
    raise ValueError(f"unknown trajectory shape {shape!r}; allowed: {list(SHAPES)}")
