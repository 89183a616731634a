"""The analyses of seed 000 (co-learning ensembles) as library functions, all on held-out data.

- sweep tables: :func:`runs_frame` (a sweep's store is read by :func:`coterie.sweep.load_sweep_frame`),
  :func:`funnel` (Fig 2c, 3a, 3d), :func:`optimal_coupling` and
  :func:`loglog_fit` (Fig 3c), :func:`difference_from_independent` (Fig 3b), :func:`combination_table` (Fig S3),
  :func:`wilcoxon_table` / :func:`wilcoxon_paired` (Fig S4c), :func:`structure_table` (Tables S3, S4);
- functional space: :func:`js_matrix` (Fig 4a), :func:`js_matrix_with_ensemble`, :func:`member_kl_to_target`
  (Fig 2b), :func:`trajectory_distances` and :func:`mds_embedding` (Fig 4b);
- per-sample agreement: :func:`true_class_probabilities` (Fig 5a), :func:`entropy_histograms` (Fig 5b, S5),
  :func:`confidence_vs_voters` (Fig 5c), :func:`decision_border_mask` (§3.4 boosting);
- structure: :func:`layer_activity` (Fig 6a/b, Table S3), :func:`weight_std` and :func:`weight_values` (Fig 6c,
  Table S4); :class:`TrajectoryRecorder` records them along training.
"""

from coterie.analysis.activity import activity_from_features, layer_activity, weight_std, weight_values
from coterie.analysis.agreement import (
    VoterConfidence,
    agreement_summary,
    confidence_vs_voters,
    decision_border_mask,
    entropy_histograms,
    member_entropies,
    true_class_probabilities,
    wall_fraction,
)
from coterie.analysis.combination import combination_table, rule_accuracies
from coterie.analysis.frame import runs_frame
from coterie.analysis.functional import (
    js_matrix,
    js_matrix_with_ensemble,
    member_kl_to_target,
    trajectory_distances,
)
from coterie.analysis.funnels import funnel, member_columns
from coterie.analysis.mds import Embedding, embedding_distance_correlation, mds_embedding
from coterie.analysis.scaling import PowerLawFit, difference_from_independent, loglog_fit, optimal_coupling
from coterie.analysis.significance import wilcoxon_paired, wilcoxon_table
from coterie.analysis.structure import confidence_table, structure_table
from coterie.analysis.trajectory import TrajectoryRecorder, load_trajectory

__all__ = [
    "Embedding",
    "PowerLawFit",
    "TrajectoryRecorder",
    "VoterConfidence",
    "activity_from_features",
    "agreement_summary",
    "combination_table",
    "confidence_table",
    "confidence_vs_voters",
    "decision_border_mask",
    "difference_from_independent",
    "embedding_distance_correlation",
    "entropy_histograms",
    "funnel",
    "js_matrix",
    "js_matrix_with_ensemble",
    "layer_activity",
    "load_trajectory",
    "loglog_fit",
    "mds_embedding",
    "member_columns",
    "member_entropies",
    "member_kl_to_target",
    "optimal_coupling",
    "rule_accuracies",
    "runs_frame",
    "structure_table",
    "trajectory_distances",
    "true_class_probabilities",
    "wall_fraction",
    "weight_std",
    "weight_values",
    "wilcoxon_paired",
    "wilcoxon_table",
]
