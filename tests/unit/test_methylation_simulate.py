"""coterie.data.methylation.simulate (v2 simulator), trajectories, genome and oracle: closed forms, confounder and
batch sizes recovered by regression, missing fraction, genomic order, correlation decay, linear model not optimal."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from coterie.data.methylation.cohort_params import CohortParams
from coterie.data.methylation.genome import CHROMOSOME_MB
from coterie.data.methylation.oracle import oracle_age
from coterie.data.methylation.simulate import simulate_methylation_v2
from coterie.data.methylation.trajectories import SHAPES, trajectory


def _logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def _logit(b: np.ndarray) -> np.ndarray:
    return np.log(b / (1.0 - b))


@pytest.mark.parametrize(
    ("shape", "kwargs", "age", "expected"),
    [
        ("linear", {}, 25.0, 0.25),
        # Horvath F: F(0) = -log 21, F(20) = 0, F(100) = 80/21
        ("horvath", {}, 20.0, math.log(21) / (math.log(21) + 80 / 21)),
        ("horvath", {}, 10.0, (math.log(11) - math.log(21) + math.log(21)) / (math.log(21) + 80 / 21)),
        ("saturating", {"tau": 10.0}, 10.0, (1 - math.exp(-1)) / (1 - math.exp(-10))),
        ("accelerating", {"power": 2.0}, 50.0, 0.25),
        ("accelerating", {"power": 3.0}, 50.0, 0.125),
        ("sigmoidal", {"midpoint": 50.0, "width": 5.0}, 50.0, 0.5),
        (
            "sigmoidal",
            {"midpoint": 40.0, "width": 10.0},
            30.0,
            (_logistic(-1) - _logistic(-4)) / (_logistic(6) - _logistic(-4)),
        ),
        ("variance", {}, 70.0, 0.0),
    ],
)
def test_trajectory_closed_forms(shape: str, kwargs: dict, age: float, expected: float) -> None:
    assert float(trajectory(shape, np.array(age), **kwargs)) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    ends = trajectory(shape, np.array([0.0, 100.0]), **kwargs)
    assert ends == pytest.approx([0.0, 0.0 if shape == "variance" else 1.0], abs=1e-12)


def test_trajectory_broadcasts_per_cpg_parameters_and_rejects_unknown_shape() -> None:
    g = trajectory("saturating", np.array([[5.0], [50.0]]), tau=np.array([2.0, 20.0, 200.0]))
    assert g.shape == (2, 3) and np.all(np.diff(g[0]) < 0)  # larger tau saturates later
    with pytest.raises(ValueError, match="allowed"):
        trajectory("quadratic", np.array([1.0]))
    assert set(SHAPES) == {"linear", "horvath", "saturating", "accelerating", "sigmoidal", "variance"}


def test_reproducible_loci_sorted_and_missing_fraction() -> None:
    a = simulate_methylation_v2(80, 400, 40, seed=5, missing_rate=0.05)
    b = simulate_methylation_v2(80, 400, 40, seed=5, missing_rate=0.05)
    c = simulate_methylation_v2(80, 400, 40, seed=6, missing_rate=0.05)
    pd.testing.assert_frame_equal(a.betas, b.betas)
    assert not a.betas.fillna(0).equals(c.betas.fillna(0))
    assert abs(float(a.betas.isna().to_numpy().mean()) - 0.05) < 0.005
    loci = a.loci
    assert loci is not None and list(loci.index) == list(a.betas.columns)
    order = list(CHROMOSOME_MB)
    ranks = loci["chromosome"].map(order.index).to_numpy()
    assert np.all(np.diff(ranks) >= 0)
    for _, grp in loci.groupby("chromosome"):
        assert np.all(np.diff(grp["position"].to_numpy()) > 0)
        assert grp["position"].max() < CHROMOSOME_MB[grp["chromosome"].iloc[0]] * 1e6
    assert len(a.info["age_cpgs"]) == 40
    v = a.betas.to_numpy()
    assert np.nanmin(v) > 0 and np.nanmax(v) < 1


def test_sex_effect_recovered_with_requested_size() -> None:
    d = simulate_methylation_v2(
        1500,
        600,
        0,
        seed=1,
        n_batches=1,
        cell_marker_fraction=0.0,
        sex_cpg_fraction=0.1,
        sex_effect_range=(0.4, 0.6),
        missing_rate=0.0,
    )
    t, female = d.info["truth"], d.info["female"]
    m = _logit(d.betas.to_numpy())
    est = m[female == 1].mean(0) - m[female == 0].mean(0)  # regression of logit beta on a sex indicator
    auto = (d.loci["chromosome"] != "X").to_numpy()
    sexed = auto & (t["sex_effect"] != 0).to_numpy()
    assert 0.05 < sexed.sum() / auto.sum() < 0.15
    assert np.abs(est[sexed]) == pytest.approx(np.abs(t["sex_effect"].to_numpy()[sexed]), abs=0.12)
    assert np.all((np.abs(est[sexed]) > 0.25) & (np.abs(est[sexed]) < 0.75))
    assert np.abs(est[auto & ~sexed]).max() < 0.15
    on_x = ~auto  # X inactivation: females halfway to beta = 0.5
    assert est[on_x] == pytest.approx(-0.5 * t["mu"].to_numpy()[on_x], abs=0.12)


def test_cell_mixture_and_composition_shift() -> None:
    d = simulate_methylation_v2(
        400,
        300,
        0,
        seed=2,
        n_batches=1,
        noise_sd=0.0,
        drift=0.0,
        sex_cpg_fraction=0.0,
        missing_rate=0.0,
        cell_marker_fraction=0.3,
        cell_effect_range=(2.0, 2.0),
    )
    t, w = d.info["truth"], d.info["cell_fractions"].to_numpy()
    auto = (d.loci["chromosome"] != "X").to_numpy()
    for j in np.flatnonzero(auto & (t["cell_type"] >= 0).to_numpy())[:20]:
        per_type, *_ = np.linalg.lstsq(w, d.betas.iloc[:, j].to_numpy(), rcond=None)  # bulk = sum_k w_k beta_k
        k, mu = int(t["cell_type"].iloc[j]), t["mu"].iloc[j]
        expected = np.full(w.shape[1], _logistic(mu))
        expected[k] = _logistic(mu + t["cell_effect"].iloc[j])
        assert per_type == pytest.approx(expected, abs=1e-3)
        assert abs(_logit(np.array(per_type[k]))[()] - mu) == pytest.approx(2.0, abs=1e-2)
    cd8 = d.info["cell_fractions"]["CD8T"].to_numpy()
    slope = np.polyfit(d.ages.to_numpy(), cd8, 1)[0]
    assert slope == pytest.approx(-0.09 * 0.4 / 100, rel=0.35)


def test_batch_effects_have_requested_size() -> None:
    d = simulate_methylation_v2(
        1600,
        300,
        0,
        seed=3,
        n_batches=4,
        batch_sd=0.3,
        batch_scale_sd=0.0,
        cell_marker_fraction=0.0,
        sex_cpg_fraction=0.0,
        missing_rate=0.0,
    )
    auto = (d.loci["chromosome"] != "X").to_numpy()
    m = _logit(d.betas.to_numpy())[:, auto]
    batch = d.info["batch"]
    dummies = np.eye(4)[batch]
    coef, *_ = np.linalg.lstsq(dummies, m, rcond=None)  # per-batch mean logit
    est = coef - coef.mean(0)
    truth = d.info["batch_shift"][:, auto]
    truth = truth - truth.mean(0)
    assert np.corrcoef(est.ravel(), truth.ravel())[0, 1] > 0.95
    assert est.std() == pytest.approx(truth.std(), rel=0.1)
    assert d.info["batch_shift"].std() == pytest.approx(0.3, rel=0.1)


def test_local_correlation_decays_with_distance() -> None:
    d = simulate_methylation_v2(
        1000,
        1500,
        0,
        seed=4,
        n_batches=1,
        cell_marker_fraction=0.0,
        sex_cpg_fraction=0.0,
        missing_rate=0.0,
        drift=0.0,
        corr_max=0.6,
        corr_length=1000.0,
    )
    m = _logit(d.betas.to_numpy())
    r = (m - m.mean(0)) / m.std(0)
    adj = (r[:, 1:] * r[:, :-1]).mean(0)
    same = d.loci["chromosome"].to_numpy()[1:] == d.loci["chromosome"].to_numpy()[:-1]
    gap = np.diff(d.loci["position"].to_numpy())
    near, far = same & (gap < 150), same & (gap > 20000)
    assert near.sum() > 50 and far.sum() > 50
    assert adj[near].mean() == pytest.approx(np.mean(0.6 * np.exp(-gap[near] / 1000.0)), abs=0.05)
    assert abs(adj[far].mean()) < 0.03
    mid = same & (gap >= 500) & (gap < 2000)
    assert adj[near].mean() > adj[mid].mean() + 0.1 > adj[far].mean() + 0.1


def test_linear_model_is_not_near_optimal_by_construction() -> None:
    """On the default cohort shape (smaller), the ML oracle beats both an elastic net and the best linear predictor
    on the true age CpGs fitted on ten times more samples."""
    from sklearn.linear_model import ElasticNetCV, LinearRegression
    from sklearn.preprocessing import StandardScaler

    d = simulate_methylation_v2(4400, 800, 200, seed=0)
    y = d.ages.to_numpy()
    x = d.betas.to_numpy()
    x = np.where(np.isnan(x), np.nanmedian(x[:400], axis=0), x)
    test = slice(4000, 4400)
    sc = StandardScaler().fit(x[:400])
    en = ElasticNetCV(l1_ratio=0.5, alphas=12, cv=3, max_iter=5000).fit(sc.transform(x[:400]), y[:400])
    mae_en = np.abs(en.predict(sc.transform(x[test])) - y[test]).mean()
    age_cols = d.betas.columns.get_indexer(d.info["age_cpgs"])
    lin = LinearRegression().fit(x[:4000, age_cols], y[:4000])
    mae_lin = np.abs(lin.predict(x[test][:, age_cols]) - y[test]).mean()
    pred = oracle_age(d.betas.iloc[test], d.info["truth"], d.info["female"][test], d.info["params"])
    mae_oracle = np.abs(pred - y[test]).mean()
    assert mae_oracle < 0.85 * mae_lin and mae_oracle < 0.8 * mae_en, (mae_oracle, mae_lin, mae_en)


def test_invalid_parameters_are_named() -> None:
    with pytest.raises(ValueError, match="missing_rate"):
        simulate_methylation_v2(10, 20, 2, missing_rate=1.5)
    with pytest.raises(ValueError, match="shape_weights"):
        simulate_methylation_v2(10, 20, 2, shape_weights={"cubic": 1.0})
    with pytest.raises(ValueError, match="n_age_cpgs"):
        simulate_methylation_v2(10, 20, 30)
    with pytest.raises(TypeError):
        simulate_methylation_v2(10, 20, 2, not_a_parameter=1)
    assert CohortParams().noise_sd == 0.5
