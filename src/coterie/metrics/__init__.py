"""Functional metrics on member outputs (N, B, C), plus accumulating classes.

Classification: :func:`member_accuracy`, :func:`ensemble_accuracy`, :func:`nll`, :func:`brier_score`,
:func:`entropy`, :func:`disagreement`. Divergence: :func:`kl_divergence_matrix`, :func:`js_divergence_matrix`
(seed 000 eq. 5), :func:`mean_pairwise_js`.
Activity and curvature (seed 004): :func:`participation_ratio`, :func:`hessian_trace` (Hutchinson),
:func:`hessian_spectral_density` (stochastic Lanczos quadrature). Calibration: :func:`expected_calibration_error`.
"""

from coterie.metrics.accumulate import EnsembleMetrics
from coterie.metrics.calibration import expected_calibration_error
from coterie.metrics.cka import MinibatchCKA, layerwise_cka, linear_cka, unbiased_hsic  # noqa: F401
from coterie.metrics.classification import (
    accuracy,
    brier_score,
    correct_voters,
    disagreement,
    ensemble_accuracy,
    entropy,
    member_accuracy,
    nll,
)
from coterie.metrics.divergence import js_divergence, js_divergence_matrix, kl_divergence_matrix, mean_pairwise_js
from coterie.metrics.hessian import (
    SpectralDensity,
    exact_hessian,
    hessian_spectral_density,
    hessian_trace,
    hvp_operator,
)
from coterie.metrics.participation import normalized_participation_ratio, participation_ratio
from coterie.metrics.summary import ensemble_summary

__all__ = [
    "EnsembleMetrics",
    "SpectralDensity",
    "accuracy",
    "brier_score",
    "correct_voters",
    "disagreement",
    "ensemble_accuracy",
    "ensemble_summary",
    "entropy",
    "exact_hessian",
    "expected_calibration_error",
    "hessian_spectral_density",
    "hessian_trace",
    "hvp_operator",
    "js_divergence",
    "js_divergence_matrix",
    "kl_divergence_matrix",
    "mean_pairwise_js",
    "member_accuracy",
    "nll",
    "normalized_participation_ratio",
    "participation_ratio",
]
