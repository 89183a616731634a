"""Parameters of the v2 methylation simulator, each with its source (or marked as a plausible choice)."""

from __future__ import annotations

from dataclasses import dataclass, field

from coterie.data.methylation.trajectories import SHAPES


def _shape_weights() -> dict[str, float]:
    return {
        "linear": 0.15,
        "horvath": 0.25,
        "saturating": 0.2,
        "accelerating": 0.15,
        "sigmoidal": 0.15,
        "variance": 0.1,
    }


def _cell_types() -> dict[str, float]:
    return {"Gran": 0.62, "CD4T": 0.14, "CD8T": 0.09, "Bcell": 0.05, "Mono": 0.06, "NK": 0.04}


@dataclass(frozen=True)
class CohortParams:
    """Every knob of :func:`~coterie.data.methylation.simulate.simulate_methylation_v2`; logit units unless said.

    Ages and trajectories:

    * ``age_range`` (0, 100): ages uniform over it (a choice: the whole life span, as Horvath's multi-tissue data);
      ``age_range[1]`` is also ``a_max`` of the trajectories.
    * ``adult_age`` 20: Horvath (2013)'s F transform.
    * ``shape_weights``: share of age regions per trajectory shape — a plausible choice (Horvath-like F the most
      common, every non-linear shape well represented).
    * ``amplitude_range`` (0.8, 2.5): |total change| over a life; 2.5 ≈ ELOVL2's rise from β≈0.25 to ≈0.8
      (Garagnani et al. 2012, Aging Cell 11:1132); the lower end is a plausible choice.
    * ``tau_range`` (3, 20) years (saturating), ``power_range`` (2, 4) (accelerating), ``midpoint_range`` (25, 75)
      and ``width_range`` (3, 10) years (sigmoidal): plausible choices.
    * ``drift`` 0.5 for every CpG, ``variance_drift_range`` (2, 5) on ``variance`` sites: noise sd grows by
      (1 + κ·a/a_max); the direction is Slieker et al. 2016 (Genome Biology 17:191), the sizes are plausible choices.
    * ``noise_sd`` 0.5: residual sd at birth — a calibration choice: on the default cohort (600 × 2000, seed 0) an
      elastic net reaches about 5 years MAE, the maximum-likelihood oracle (:mod:`~coterie.data.methylation.oracle`)
      about 3.5, and the best linear predictor on the true age CpGs fitted on 7,500 samples about 4.8.

    Genome (see :mod:`~coterie.data.methylation.genome`): ``region_size`` 4 and ``intra_gap`` 100 bp (plausible
    choices), ``corr_length`` 1000 bp (Eckhardt et al. 2006, Nature Genetics 38:1378: co-methylation within ~1 kb),
    ``corr_max`` 0.6 (plausible choice).

    Sex: ``female_fraction`` 0.5 (a choice); ``sex_cpg_fraction`` 0.02 of autosomal CpGs differ by sex with
    |δ| in ``sex_effect_range`` (0.3, 0.8) — sex-associated autosomal CpGs exist (McCarthy et al. 2014, BMC
    Genomics 15:981); the fraction and sizes here are plausible choices; X-chromosome CpGs in females move a fraction
    ``x_inactivation`` 0.5 of the way to β = 0.5 (X inactivation; the fraction is a choice).

    Blood cells: ``cell_types`` mean fractions (granulocytes 0.62, CD4 T 0.14, CD8 T 0.09, B 0.05, monocytes 0.06,
    NK 0.04: typical adult leukocyte differentials, the six types of Houseman et al. 2012 / Reinius et al. 2012,
    PLoS ONE 7:e41361; rounded choices); per-sample fractions Dirichlet with ``cell_concentration`` 30 (sd of
    granulocytes ≈ 0.09: plausible); CD8 T cells fall by ``cd8_decline`` 0.4 (relative) from birth to a_max (the
    direction is reported by Jaffe & Irizarry 2014, Genome Biology 15:R31; the size is a choice);
    ``cell_marker_fraction`` 0.1 of CpGs are markers of one cell type with |d| in ``cell_effect_range`` (1.5, 3.0)
    (Reinius 2012 show large cell-type differences; the numbers are choices).

    Batches (ComBat's model, Johnson et al. 2007): ``n_batches`` 4, additive ``batch_sd`` 0.15 and multiplicative
    ``batch_scale_sd`` 0.1 (log scale) per batch and CpG — plausible choices.

    Missing values: ``missing_rate`` 0.01, missing completely at random (arrays fail detection p-values on well
    under a few percent of values; the value is a choice).
    """

    age_range: tuple[float, float] = (0.0, 100.0)
    adult_age: float = 20.0
    shape_weights: dict[str, float] = field(default_factory=_shape_weights)
    amplitude_range: tuple[float, float] = (0.8, 2.5)
    tau_range: tuple[float, float] = (3.0, 20.0)
    power_range: tuple[float, float] = (2.0, 4.0)
    midpoint_range: tuple[float, float] = (25.0, 75.0)
    width_range: tuple[float, float] = (3.0, 10.0)
    drift: float = 0.5
    variance_drift_range: tuple[float, float] = (2.0, 5.0)
    noise_sd: float = 0.5
    region_size: float = 4.0
    intra_gap: float = 100.0
    corr_max: float = 0.6
    corr_length: float = 1000.0
    female_fraction: float = 0.5
    sex_cpg_fraction: float = 0.02
    sex_effect_range: tuple[float, float] = (0.3, 0.8)
    x_inactivation: float = 0.5
    cell_types: dict[str, float] = field(default_factory=_cell_types)
    cell_concentration: float = 30.0
    cd8_decline: float = 0.4
    cell_marker_fraction: float = 0.1
    cell_effect_range: tuple[float, float] = (1.5, 3.0)
    n_batches: int = 4
    batch_sd: float = 0.15
    batch_scale_sd: float = 0.1
    missing_rate: float = 0.01

    def validate(self, n_cpgs: int, n_age_cpgs: int) -> None:
        """Raise ``ValueError`` naming the first parameter outside its allowed range."""
        if not 0 <= n_age_cpgs <= n_cpgs:
            raise ValueError(f"n_age_cpgs must lie in [0, n_cpgs={n_cpgs}], got {n_age_cpgs}")
        bad = [s for s in self.shape_weights if s not in SHAPES]
        if bad or not self.shape_weights or sum(self.shape_weights.values()) <= 0:
            raise ValueError(f"shape_weights needs positive weights over {list(SHAPES)}, got {self.shape_weights}")
        if not {"Gran", "CD8T"} <= set(self.cell_types):
            raise ValueError(f"cell_types must include 'Gran' and 'CD8T', got {list(self.cell_types)}")
        checks = {
            "missing_rate": 0.0 <= self.missing_rate < 1.0,
            "corr_max": 0.0 <= self.corr_max < 1.0,
            "female_fraction": 0.0 <= self.female_fraction <= 1.0,
            "cd8_decline": 0.0 <= self.cd8_decline <= 1,
            "n_batches": self.n_batches >= 1,
            "noise_sd": self.noise_sd >= 0.0,
            "age_range": 0.0 <= self.age_range[0] < self.age_range[1],
        }
        for name, ok in checks.items():
            if not ok:
                raise ValueError(f"{name}={getattr(self, name)!r} is outside its allowed range")
