"""coterie.cooperative.clocks: published Horvath (2013) and Hannum (2013) clocks against hand-computed values and
against biolearn's own predictions (the oracle; skipped when biolearn is not installed)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coterie.cooperative import clocks


def _user_table(tmp_path: Path) -> Path:
    p = tmp_path / "clock.csv"
    p.write_text("CpGmarker,CoefficientTraining\n(Intercept),0.5\ncg0001,1.0\ncg0002,-2.0\n")
    return p


def test_user_table_closed_form(tmp_path: Path) -> None:
    betas = pd.DataFrame({"cg0002": [0.1, 0.6], "cg0001": [0.3, 0.1], "cg9999": [0.5, 0.5]}, index=["a", "b"])
    age = clocks.predict(betas, "horvath2013", coefficients=_user_table(tmp_path))
    # s = 0.5 + 0.3 - 0.2 = 0.6 → 21·0.6 + 20;  s = 0.5 + 0.1 - 1.2 = -0.6 → 21·exp(-0.6) - 1
    assert age.tolist() == pytest.approx([32.6, 21 * math.exp(-0.6) - 1], abs=1e-12)
    assert list(age.index) == ["a", "b"] and age.name == "horvath2013_age"
    lin = clocks.predict(betas, "hannum2013", coefficients=_user_table(tmp_path), intercept=1.0)
    assert lin.tolist() == pytest.approx([1.1, -0.1], abs=1e-12)


def test_missing_cpgs_error_or_explicit_imputation(tmp_path: Path) -> None:
    table = _user_table(tmp_path)
    betas = pd.DataFrame({"cg0001": [0.3, np.nan, 0.5]})
    with pytest.raises(ValueError, match=r"lack 1 of the 2 horvath2013 CpGs \(e.g. \['cg0002'\]\)"):
        clocks.predict(betas, coefficients=table)
    full = betas.assign(cg0002=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="missing values"):
        clocks.predict(full, coefficients=table)
    by_mean = clocks.predict(full, "hannum2013", coefficients=table, impute="mean")
    assert by_mean.iloc[1] == pytest.approx(0.5 + 0.4 - 0.4)  # cg0001 filled with its mean 0.4
    with pytest.raises(ValueError, match="impute='mean' fills missing values only"):
        clocks.predict(betas, coefficients=table, impute="mean")
    ref = pd.Series({"cg0001": 0.2, "cg0002": 0.25})
    by_ref = clocks.predict(betas, "hannum2013", coefficients=table, impute=ref)
    assert by_ref.tolist() == pytest.approx([0.5 + 0.3 - 0.5, 0.5 + 0.2 - 0.5, 0.5 + 0.5 - 0.5])
    with pytest.raises(ValueError, match="allowed"):
        clocks.predict(full, coefficients=table, impute="knn")
    with pytest.raises(ValueError, match="unknown clock 'phenoage'"):
        clocks.predict(full, "phenoage")
    with pytest.raises(ValueError, match="CpGmarker and CoefficientTraining"):
        clocks.predict(full, coefficients=pd.DataFrame({"probe": ["cg0001"], "weight": [1.0]}))


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    """20 samples × every 450k CpG biolearn averages, with seeded noise: holds every clock CpG."""
    pytest.importorskip("biolearn")
    avg = pd.read_csv(clocks.biolearn_data_dir() / "biolearn_averages_450k.csv", index_col=0)["average"]
    need = set()
    for spec in clocks.CLOCKS.values():
        need |= set(clocks.load_coefficients(clocks.biolearn_data_dir() / spec.file)[0].index)
    assert need <= set(avg.index)
    rng = np.random.default_rng(0)
    cpgs = sorted(need) + list(avg.index[:200])
    base = avg.loc[cpgs].to_numpy()
    x = np.clip(base[None, :] + rng.normal(0.0, 0.08, size=(20, len(cpgs))), 0.0, 1.0)
    return pd.DataFrame(x, index=[f"GSM{i}" for i in range(20)], columns=cpgs)


@pytest.mark.parametrize(
    ("ours", "theirs", "intercept"), [("horvath2013", "Horvathv1", 0.696), ("hannum2013", "Hannum", None)]
)
def test_matches_biolearn(cohort: pd.DataFrame, ours: str, theirs: str, intercept: float | None) -> None:
    """The oracle: biolearn's own prediction on a table holding every clock CpG, tolerance 1e-6 years."""
    gallery = pytest.importorskip("biolearn.model_gallery")
    from biolearn.data_library import GeoData

    meta = pd.DataFrame(index=cohort.index)
    expected = gallery.ModelGallery().get(theirs, imputation_method="none").predict(GeoData(meta, cohort.T.copy()))
    got = clocks.predict(cohort, ours, intercept=intercept)
    assert got.to_numpy() == pytest.approx(expected["Predicted"].loc[cohort.index].to_numpy(), abs=1e-6)
    assert got.std() > 1.0  # the noise moves the prediction: the comparison is not of constants


def test_horvath_published_intercept_differs_from_biolearn_rounding_only(cohort: pd.DataFrame) -> None:
    from coterie.data.methylation import horvath_transform

    published = horvath_transform(clocks.predict(cohort, "horvath2013").to_numpy())
    rounded = horvath_transform(clocks.predict(cohort, "horvath2013", intercept=0.696).to_numpy())
    assert published - rounded == pytest.approx(np.full(len(cohort), 0.695507258 - 0.696), abs=1e-9)
