"""Age handling: Horvath's (2013) log-linear age transform F, its inverse, and ages parsed from GEO characteristics."""

from __future__ import annotations

import math
import re

import numpy as np

_AGE_KEY = re.compile(r"^\s*(?:age|sample[ _]age|donor[ _]age|age[ _]at[ _]\w+)\b[^:]*:\s*(.*)$", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_TIME_UNITS = {
    "y": 1.0,
    "yr": 1.0,
    "yrs": 1.0,
    "year": 1.0,
    "years": 1.0,
    "m": 1 / 12,
    "mo": 1 / 12,
    "month": 1 / 12,
    "months": 1 / 12,
    "w": 7 / 365.25,
    "wk": 7 / 365.25,
    "week": 7 / 365.25,
    "weeks": 7 / 365.25,
    "d": 1 / 365.25,
    "day": 1 / 365.25,
    "days": 1 / 365.25,
}


def horvath_transform(age: np.ndarray | float, adult_age: float = 20.0) -> np.ndarray:
    """Horvath (2013) log-linear age transform F.

    ``F(age) = log(age + 1) − log(adult_age + 1)`` for ``age ≤ adult_age`` and ``(age − adult_age) / (adult_age + 1)``
    after. F is continuous with a continuous first derivative at ``adult_age``; methylation changes fast in
    childhood and linearly in adulthood.
    """
    a = np.asarray(age, dtype=np.float64)
    young = np.log(np.clip(a, -0.999, None) + 1.0) - math.log(adult_age + 1.0)
    old = (a - adult_age) / (adult_age + 1.0)
    return np.where(a <= adult_age, young, old)


def horvath_inverse(f: np.ndarray | float, adult_age: float = 20.0) -> np.ndarray:
    """Inverse of :func:`horvath_transform`: ages in years from F values."""
    v = np.asarray(f, dtype=np.float64)
    young = np.exp(np.minimum(v, 0.0) + math.log(adult_age + 1.0)) - 1.0
    old = v * (adult_age + 1.0) + adult_age
    return np.where(v <= 0.0, young, old)


def parse_age(text: str) -> float | None:
    """Age in years from a GEO characteristic such as ``"age: 32"``, ``"age (y): 32.5"``, ``"Age at draw: 61 years"``.

    Returns ``None`` if ``text`` is not an age characteristic; ``NaN`` if it is one whose value is missing or not a
    number (``"age: NA"``). Values with a month / week / day unit (``"age: 18 months"``) are converted to years.
    """
    m = _AGE_KEY.match(text.strip().strip('"'))
    if m is None:
        return None
    key = text.split(":", 1)[0].lower()
    if "gestation" in key:
        return None
    value = m.group(1).strip()
    num = _NUMBER.search(value)
    if num is None:
        return float("nan")
    years = float(num.group(0))
    unit_text = value[num.end() :].strip().lower().strip(".")
    unit_key = re.match(r"[a-z]*", unit_text)
    unit = unit_key.group(0) if unit_key else ""
    key_unit = re.search(r"\((\w+)\)", key)
    if not unit and key_unit:
        unit = key_unit.group(1)
    return years * _TIME_UNITS.get(unit, 1.0)
