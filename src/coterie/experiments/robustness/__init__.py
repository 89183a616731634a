"""``experiment: robustness`` — seed 002's protocol: diverse ensembles against black-box and white-box attacks.

For each repeat (seed), the recipe trains

* a *surrogate* ensemble (independent cross-entropy, its own initialisation and data order), owned by the
  zero-knowledge adversary A_Z, and
* one *target* ensemble per method (default: unprotected, ADP, GAL, DVERGE, PARL; all targets of a repeat start from
  the same initialisation), plus the PARL/K ablation (Table 2, Fig. 5) when ``parl_ablation`` lists K values,

then, on a fixed random subset of the test split (drawn once from the run seed), measures accuracy under FGSM, BIM,
MIM (μ = ``attack.decay``, plus ``mim_mu<μ>`` per ``attack.extra_mim_decays``) and PGD for every ε: black-box
transfer from the surrogate (Fig. 3) and white-box on the target itself (Fig. 4). Every accuracy is scored under
each rule of ``attack.rules`` (default: seed 002's majority ``vote`` and the ``mean`` probability).
``results.json`` holds the Table 1 layout (clean accuracy on the test split and accuracy under each attack at the
largest ε), the accuracy-vs-ε curves (``table1``/``curves``: primary rule ``attack.rule``; ``*_by_rule``: every
rule), layer-wise linear CKA between members (Fig. 2), the PARL input-gradient similarity of every ensemble (all
measured on held-out test data), ``records`` (one row per seed, method, setting, attack, ε and rule) and, over
repeats, mean, sample standard deviation (ddof = 1) and 95 % CI. No choice is made on test data: training uses
train/val only.

``input_scaling: minmax`` maps inputs affinely to [0, 1] with the *training split's* minimum and maximum (val/test
clipped), for datasets such as MNIST-1D that are not natively in [0, 1]; ε is then a fraction of the signal range.
A method may start from another method's trained weights (``init_from``, e.g. DVERGE from the unprotected ensemble,
as the official DVERGE code starts from pre-trained baselines), set its own number of epochs, augmentation and
member arguments (``model_kwargs``, e.g. GAL's leaky-ReLU members).

Modules: :mod:`~.config` (the schema), :mod:`~.train` (members, early checks, one training run), :mod:`~.evaluate`
(attacks, gradient similarity, CKA), :mod:`~.summary` (aggregation and records), :mod:`~.run` (the recipe),
:mod:`~.select` (each method's coefficient chosen by one rule from a selection run with ``attack.eval_split: val``);
figures are drawn by :mod:`coterie.report.robustness`.

Artefacts (:mod:`coterie.experiments.artifacts.robustness`): ``repeat<r>/ensemble-<label>.safetensors`` per target
and ``repeat<r>/surrogate.safetensors``; ``coterie.load(run_dir, which)`` returns ``{label: Ensemble}`` (targets,
then ``surrogate``) in eval mode, for the first repeat (``which`` final or best: the same, final, weights) or for
``which="repeat<r>"``. The ensembles take inputs as scaled by ``input_scaling`` (``results.json`` ``data.scaling``).
"""

from coterie.experiments.robustness.config import (
    AttackConfig,
    MethodConfig,
    RobustnessConfig,
    all_methods,
    default_methods,
)
from coterie.experiments.robustness.run import run, run_repeat
from coterie.experiments.robustness.summary import mean_std, summarise
from coterie.experiments.robustness.train import clean_accuracy, make_ensemble, scale_splits, validate_objectives

__all__ = [
    "AttackConfig",
    "MethodConfig",
    "RobustnessConfig",
    "all_methods",
    "clean_accuracy",
    "default_methods",
    "make_ensemble",
    "mean_std",
    "run",
    "run_repeat",
    "scale_splits",
    "summarise",
    "validate_objectives",
]
