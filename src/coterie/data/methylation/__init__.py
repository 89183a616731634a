"""DNA methylation data for age prediction (seed 001, Co-DeepNet).

Everything a methylation-clock experiment needs before the models see a tensor, one concern per module:

* :mod:`~coterie.data.methylation.core` — :class:`MethylationData` (betas, ages, optional CpG loci) and
  :class:`MethylationFormatError` (file and 1-based line of a malformed input);
* :mod:`~coterie.data.methylation.ages` — Horvath's age transform F and its inverse, ages parsed from GEO text;
* :mod:`~coterie.data.methylation.geo` — GEO series-matrix files (plain or ``.gz``);
* :mod:`~coterie.data.methylation.io` — samples × CpGs tables (CSV / TSV / parquet) and :func:`load_methylation`;
* :mod:`~coterie.data.methylation.annotation` — platform annotations (GPL tables) and genomic CpG order;
* :mod:`~coterie.data.methylation.simulate` — the v2 simulator (several trajectory shapes, confounders, batches,
  genomic positions) and :mod:`~coterie.data.methylation.simulate_v1` — the v1 simulator (logit-linear in F);
* :mod:`~coterie.data.methylation.oracle` — the maximum-likelihood age oracle for v2 cohorts;
* :mod:`~coterie.data.methylation.preprocess` — age-stratified splits, train-only imputation and CpG selection.

Shapes: ``betas`` is a DataFrame (samples, CpGs) with values in [0, 1]; ``ages`` a Series (samples,) in years;
:meth:`MethylationPreprocessor.transform` returns a float32 array (samples, selected CpGs).
"""

from coterie.data.methylation.ages import horvath_inverse, horvath_transform, parse_age
from coterie.data.methylation.annotation import annotate, genomic_order, read_platform_annotation
from coterie.data.methylation.cohort_params import CohortParams
from coterie.data.methylation.core import NA_STRINGS, MethylationData, MethylationFormatError
from coterie.data.methylation.geo import read_geo_series_matrix
from coterie.data.methylation.io import load_methylation, read_methylation_table
from coterie.data.methylation.oracle import oracle_age
from coterie.data.methylation.preprocess import MethylationPreprocessor, age_correlation, split_samples
from coterie.data.methylation.simulate import simulate_methylation_v2
from coterie.data.methylation.simulate_v1 import simulate_methylation

__all__ = [
    "NA_STRINGS",
    "CohortParams",
    "MethylationData",
    "MethylationFormatError",
    "MethylationPreprocessor",
    "age_correlation",
    "annotate",
    "genomic_order",
    "horvath_inverse",
    "horvath_transform",
    "load_methylation",
    "oracle_age",
    "parse_age",
    "read_geo_series_matrix",
    "read_methylation_table",
    "read_platform_annotation",
    "simulate_methylation",
    "simulate_methylation_v2",
    "split_samples",
]
