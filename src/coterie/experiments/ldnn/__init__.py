"""``ldnn`` — learned-diversity neural networks (seed 004) on MNIST-1D, van der Pol and Hénon–Heiles.

One experiment, three tasks (``task:``), run as in the paper:

1. **Meta-learn** N_T activation sub-networks (one hidden layer of 100 neurons split into equal blocks of N_T types,
   sub-networks of 50 units evolved from a base sine) with Algorithm 1 on the training split
   (:func:`coterie.neurons.meta_learn`; ``method: exact`` or ``first_order``).
   θ is re-initialised every outer step (Algorithm 1), the inner loop trains with Adam as the arms do, and outer
   steps stop once the meta-network's validation loss plateaus (``meta.patience``, ``meta.min_delta``).
2. **Export** each learned type as an :class:`~coterie.neurons.InterpolatedActivation` (100 points on [−10, 10],
   linear — the paper's Methods; cubic for the Hamiltonian network, which trains through σ'').
3. **Compare, with the same training** (the :class:`~coterie.Trainer`, one Ensemble of seeds per arm), fresh
   networks over ``eval.seeds`` initialisations: all type 1, all type 2, the mix (equal blocks), and fixed
   baselines (ReLU / tanh / sine). A seed gives every arm the same initial weights and data order (the arms differ
   only in their activations), so arms are compared pairwise per seed.
4. **Analyse** on the validation split: participation ratio of the hidden layer (eq. 7) for every run, Hessian
   trace (Hutchinson) and SLQ spectral density with its near-zero fraction for the first ``analysis.hessian_seeds``
   seeds; box plots, the activation-evolution plot, ρ(A, r), spectra; for physics tasks, orbits and rollouts.

Validation and test splits are disjoint from training and from each other (physics tasks split by whole
trajectory). Nothing is selected on either: hyper-parameters are fixed in the config. The headline comparison is on
validation (as the paper's figures); test numbers are reported alongside.

Every arm × seed logs its validation metric after each epoch (:mod:`.curves`; the run's metrics.jsonl eval records
carry ``val_<metric>_curve``), for the study's plateau rule; nothing is selected on it. ``activations_from: {run:
RUN_DIR, model: nn}`` skips step 1 and trains the arms with an earlier ldnn run's exported tables (:mod:`.reuse`).

For Hénon–Heiles ``models: [nn, hnn]`` runs the whole pipeline twice, for the conventional network (eq. 5) and the
Hamiltonian network (eq. 6), each meta-learning its own activations.

Artefacts (:mod:`coterie.experiments.artifacts.ldnn`): per model kind, ``ldnn-<task>-<kind>-meta.safetensors`` (the
meta-learned network), ``-activations.safetensors`` (the exported interpolation tables) and ``-arm-<arm>.safetensors``
(the arm's networks, one per seed). ``coterie.load(run_dir)`` returns ``{kind: {"meta": nn.Module, "activations":
[InterpolatedActivation], "arms": {arm: [nn.Module per seed]}}}`` in eval mode (``which``: final or best, the same).

Modules: :mod:`.config` (the sections), :mod:`.task` (data, loss, metric), :mod:`.arms` (training through the
Trainer, per-seed analysis), :mod:`.curves`, :mod:`.reuse`, :mod:`.stats`, :mod:`.rollouts`, :mod:`.run`; figures
in :mod:`coterie.report.ldnn`.
"""

from coterie.experiments.ldnn.config import LdnnConfig
from coterie.experiments.ldnn.run import run
from coterie.experiments.ldnn.task import LdnnTask

__all__ = ["LdnnConfig", "LdnnTask", "run"]
