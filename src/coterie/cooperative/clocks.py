"""Published epigenetic clocks with fixed coefficients: Horvath (2013) and Hannum (2013).

``predict(betas, "horvath2013")`` computes ``s = intercept + Σ_j coef_j · β_j`` over the clock's CpGs and returns
``transform(s)`` in years:

* ``horvath2013`` — 353 CpGs, intercept 0.695507258 (Horvath 2013, Genome Biology 14:R115, Additional file 3), the
  inverse of Horvath's F transform with adult age 20 (:func:`~coterie.data.methylation.ages.horvath_inverse`).
  biolearn applies the same coefficients with the intercept rounded to 0.696 (``anti_trafo(sum + 0.696)``).
* ``hannum2013`` — 71 CpGs, no intercept, identity transform (Hannum et al. 2013, Molecular Cell 49:359).

The coefficient tables are the ones the ``biolearn`` package ships (``biolearn/data/Horvath1.csv``,
``Hannum.csv``; install with ``pip install 'coterie[clocks]'``), located without importing biolearn; or a table the
user brings in the same format (columns ``CpGmarker``, ``CoefficientTraining``; an ``(Intercept)``/``intercept``
row, as in Horvath's Additional file 3, replaces the published intercept). The clocks expect raw beta values of
Illumina 27k/450k/EPIC probes (Horvath also normalised his data with a BMIQ variant, which is not applied here).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from coterie.data.methylation.ages import horvath_inverse

IMPUTE_CHOICES: tuple[str, ...] = ("mean", "reference")


class ClockCpGError(ValueError):
    """The betas lack some of a clock's CpGs (or hold missing values there) and no imputation covers them."""


@dataclass(frozen=True)
class ClockSpec:
    """A fixed-coefficient clock: biolearn's coefficient file, the published intercept and output transform."""

    name: str
    file: str
    intercept: float
    transform: str  # "horvath_inverse" | "identity"
    reference: str


CLOCKS: dict[str, ClockSpec] = {
    "horvath2013": ClockSpec(
        "horvath2013", "Horvath1.csv", 0.695507258, "horvath_inverse", "Horvath 2013, Genome Biology 14:R115"
    ),
    "hannum2013": ClockSpec("hannum2013", "Hannum.csv", 0.0, "identity", "Hannum et al. 2013, Mol. Cell 49:359"),
}


def biolearn_data_dir() -> Path:
    """The ``data`` folder of the installed ``biolearn`` package (found without importing biolearn)."""
    spec = importlib.util.find_spec("biolearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the published clocks read biolearn's coefficient tables: pip install 'coterie[clocks]' "
            "(or pass coefficients= a CSV with CpGmarker, CoefficientTraining columns)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "data"


def load_coefficients(source: str | Path | pd.DataFrame) -> tuple[pd.Series, float | None]:
    """Coefficients (CpGs,) indexed by CpG ID and the table's intercept (``None`` when it has no intercept row).

    ``source``: a CSV path or a DataFrame with columns ``CpGmarker`` and ``CoefficientTraining``.
    """
    df = source if isinstance(source, pd.DataFrame) else pd.read_csv(source)
    if not {"CpGmarker", "CoefficientTraining"} <= set(df.columns):
        raise ValueError(f"a clock table needs columns CpGmarker and CoefficientTraining, got {list(df.columns)}")
    ids = df["CpGmarker"].astype(str)
    is_icpt = ids.str.lower().isin(["(intercept)", "intercept"]).to_numpy()
    intercept = float(df.loc[is_icpt, "CoefficientTraining"].iloc[0]) if is_icpt.any() else None
    coef = pd.Series(
        df.loc[~is_icpt, "CoefficientTraining"].astype(np.float64).to_numpy(),
        index=pd.Index(ids[~is_icpt].to_numpy(), name="cpg"),
        name="coefficient",
    )
    if coef.index.duplicated().any():
        raise ValueError(f"clock table lists CpG {coef.index[coef.index.duplicated()][0]!r} twice")
    return coef, intercept


def _reference_values() -> pd.Series:
    """biolearn's shipped 450k reference medians (``sesame_450k_median.csv``), its default imputation source."""
    df = pd.read_csv(biolearn_data_dir() / "sesame_450k_median.csv", index_col=0)
    return df["median"].astype(np.float64)


def _clock_matrix(betas: pd.DataFrame, cpgs: pd.Index, impute: str | pd.Series | None, clock: str) -> np.ndarray:
    """Betas (samples, clock CpGs) in ``cpgs`` order, with absent columns / NaN filled as ``impute`` says."""
    absent = cpgs[~cpgs.isin(betas.columns)]
    x = betas.reindex(columns=cpgs).astype(np.float64)
    if impute is None:
        if len(absent):
            raise ClockCpGError(
                f"betas lack {len(absent)} of the {len(cpgs)} {clock} CpGs (e.g. "
                f"{list(absent[:5])}); add them or pass impute= one of {list(IMPUTE_CHOICES)} "
                "or a Series of values"
            )
        if x.isna().to_numpy().any():
            raise ClockCpGError(
                f"betas have missing values in {int(x.isna().any().sum())} {clock} CpG(s); "
                f"pass impute= one of {list(IMPUTE_CHOICES)} or a Series of values"
            )
        return x.to_numpy()
    if isinstance(impute, str) and impute not in IMPUTE_CHOICES:
        raise ValueError(f"unknown impute {impute!r}; allowed: {list(IMPUTE_CHOICES)} or a pandas Series")
    if isinstance(impute, str) and impute == "mean":
        if len(absent):
            raise ClockCpGError(
                f"impute='mean' fills missing values only, but betas lack {len(absent)} {clock} "
                f"CpGs (e.g. {list(absent[:5])}); use impute='reference' or a Series"
            )
        return x.fillna(x.mean(axis=0)).to_numpy()
    ref = _reference_values() if isinstance(impute, str) else impute.astype(np.float64)
    fill = ref.reindex(cpgs)
    if fill.isna().any() and x.isna().any(axis=0)[fill.isna()].any():
        raise ClockCpGError(f"no reference value for {clock} CpG(s) {list(fill.index[fill.isna()][:5])}")
    return x.fillna(fill).to_numpy()


def predict(
    betas: pd.DataFrame,
    clock: str = "horvath2013",
    *,
    coefficients: str | Path | pd.DataFrame | None = None,
    intercept: float | None = None,
    impute: str | pd.Series | None = None,
) -> pd.Series:
    """Predicted age in years (samples,) of each row of ``betas`` (samples, CpGs; beta values in [0, 1]).

    Args:
        clock: ``"horvath2013"`` or ``"hannum2013"`` (sets the intercept and the transform).
        coefficients: a user table (path or DataFrame, columns ``CpGmarker``, ``CoefficientTraining``) instead of
            biolearn's; its intercept row, if any, replaces the published intercept.
        intercept: overrides both (e.g. 0.696 to reproduce biolearn's rounded Horvath intercept).
        impute: ``None`` (default) raises on a missing clock CpG or value; ``"mean"`` fills missing values with the
            CpG's mean over these samples; ``"reference"`` fills absent CpGs and missing values with biolearn's
            450k reference medians; a Series (CpG → beta) does the same with the user's values.
    """
    if clock not in CLOCKS:
        raise ValueError(f"unknown clock {clock!r}; allowed: {list(CLOCKS)}")
    spec = CLOCKS[clock]
    coef, table_icpt = load_coefficients(coefficients if coefficients is not None else biolearn_data_dir() / spec.file)
    b = spec.intercept if table_icpt is None else table_icpt
    b = b if intercept is None else float(intercept)
    s = _clock_matrix(betas, coef.index, impute, clock) @ coef.to_numpy() + b
    age = horvath_inverse(s) if spec.transform == "horvath_inverse" else s
    return pd.Series(np.asarray(age, dtype=np.float64), index=betas.index, name=f"{clock}_age")
