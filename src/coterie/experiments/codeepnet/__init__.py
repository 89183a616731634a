"""``experiment: codeepnet`` — Co-DeepNet age prediction from DNA methylation (seed 001) against its baselines.

Protocol (one run):

1. **Data**: the simulator (``data.simulate.version`` 1: :func:`coterie.data.methylation.simulate_methylation`, the
   v1 study's cohort; 2: :func:`coterie.data.methylation.simulate_methylation_v2`) or a real file given by the
   top-level ``data_file`` field (GEO series matrix, CSV / TSV / parquet; ``coterie run … --data-file PATH`` sets it),
   CpGs in genomic order when ``data.annotation_file`` names the platform's GPL table.
   Samples without an age are removed and counted in the results (never silently).
2. **Splits**: age-stratified train / validation / test, seeded by ``seed``. Data order: shared — the pair's two
   networks see the same batch (the active one is trained on it with the partner's features).
3. **Preprocessing** fitted on train only: CpG missing-value filter and median imputation, selection of the
   ``n_selected`` CpGs most correlated with age, per-CpG input normalisation, target standardisation (optionally
   through Horvath's F(age), ``target_transform``).
4. **Genetic architecture search** (``search.enabled``): fitness = validation MAE after ``search.fitness_epochs``
   epochs averaged over ``search.fitness_seeds`` (default 2) training seeds, plus ``search.cost_weight`` × a cost
   (``search.cost``: none | parameters (thousands) | flops (forward MFLOPs)); every evaluated chromosome and the
   Pareto front of (validation MAE, parameters) are reported (results.json ``search``, ``ga_pareto.png``);
   evaluations in parallel over ``search.workers`` processes; the hand-designed default chromosome is in the
   first population. Otherwise ``model.chromosome`` (or the default) is used.
5. **Final training**: the pair from the chosen chromosome, ``repeats`` times with different initialisations; the
   single larger CNN (≥ ``baselines.single_cnn_param_ratio`` × the pair's parameters, learning rate chosen on
   validation from ``baselines.single_cnn_lr_multipliers`` × the pair's); optional ablation pairs with other
   knowledge-transfer modes (``ablations``; ``none`` = the same pair taking turns with transfer off); with
   ``independent_cnns`` the chromosome's two networks trained independently on every batch, outputs averaged
   (same networks as the transfer-off pair, hence the same parameters, and the same epochs); SVR, gradient
   boosting and elastic net (a 3 × 3 hyper-parameter grid
   each, chosen on validation); the published Horvath and Hannum clocks (``baselines.clocks``) wherever the data
   carry their Illumina CpG IDs.
6. **Test** figures (MAE, RMSE, R², median AE, years) for every model, computed once at the end, with parameter
   counts, forward FLOPs per sample, estimated training FLOPs (2 pair forwards per sample-step for the pair,
   3 forwards for the single CNN, × samples × epochs run) and measured training time; ``claims`` compares them
   with seed 001's statements.

Writes ``metrics.jsonl`` (GA generations, per-epoch curves), ``checkpoints/codeepnet.safetensors`` (first repeat),
``ga_history.png``, ``test_predictions.png``, ``validation_curves.png`` and ``results.json``, and the artefacts of
:mod:`coterie.experiments.artifacts.codeepnet` (first repeat): ``pair.safetensors`` (the pair of the chosen — searched
— chromosome), ``pair-<transfer>.safetensors`` (ablations), ``single_cnn.safetensors``. ``coterie.load(run_dir)``
returns ``{"pair": CoDeepNet, "ablations": {transfer: CoDeepNet}, "single_cnn": SingleCNN | None, "chromosome",
"scaler": TargetScaler, "cpgs", "fill_values"}`` in eval mode (``which``: final or best, the same weights).

Modules: :mod:`.config` (the sections), :mod:`.prepare` (steps 1-3), :mod:`.search` (step 4), :mod:`.final`
(step 5), :mod:`.run` (the experiment and its claims); data loading and clocks in
:mod:`.data`; figures in :mod:`coterie.report.codeepnet`.
"""

from coterie.experiments.codeepnet.config import CoDeepNetConfig
from coterie.experiments.codeepnet.run import run

__all__ = ["CoDeepNetConfig", "run"]
