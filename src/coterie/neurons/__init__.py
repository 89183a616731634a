"""Learned-diversity neurons (seed 004): activations as sub-networks, diverse layers, meta-learning, export.

- :class:`LearnedActivation` — σ(x) = base(x) + scale · MLP(x), a 1 → H → 1 sub-network applied elementwise.
- :class:`DiverseActivation`, :func:`mlp_stack` — layers whose units are split into N_T types (the network built
  from them is :class:`coterie.models.DiverseMLP`: neurons sit below models in the layers).
- :func:`meta_learn` (:class:`MetaConfig`) — Algorithm 1, exact unrolled meta-gradient (with truncation) or
  first-order alternating; :func:`unrolled_meta_gradient` exposes the exact gradient itself.
- :class:`InterpolatedActivation`, :func:`export_activation` — freeze a learned activation into a lookup table.
"""

from coterie.neurons.activation import Base, LearnedActivation, Sine, fixed_activation, is_learned
from coterie.neurons.diverse import (
    ActivationSpec,
    DiverseActivation,
    LearnedSpec,
    block_assignment,
    make_activation,
    mlp_stack,
)
from coterie.neurons.interpolated import InterpolatedActivation, export_activation
from coterie.neurons.meta import (
    MetaConfig,
    MetaResult,
    batch_stream,
    learned_activations,
    meta_learn,
    reinit_network,
    reinit_seed,
    reset_network,
    split_parameters,
    validation_loss,
)
from coterie.neurons.plateau import Plateau
from coterie.neurons.unrolled import unrolled_meta_gradient

__all__ = [
    "ActivationSpec",
    "Base",
    "DiverseActivation",
    "InterpolatedActivation",
    "LearnedActivation",
    "LearnedSpec",
    "MetaConfig",
    "MetaResult",
    "Plateau",
    "Sine",
    "batch_stream",
    "block_assignment",
    "export_activation",
    "fixed_activation",
    "is_learned",
    "learned_activations",
    "make_activation",
    "meta_learn",
    "mlp_stack",
    "reinit_network",
    "reinit_seed",
    "reset_network",
    "split_parameters",
    "unrolled_meta_gradient",
    "validation_loss",
]
