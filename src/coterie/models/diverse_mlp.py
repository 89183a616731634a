"""A fully connected network of diverse neurons (seed 004's MNIST-1D and van der Pol networks)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from coterie.models.base import CoterieModel
from coterie.neurons.diverse import ActivationSpec, LearnedSpec, mlp_stack


class DiverseMLP(CoterieModel):
    """``in_features → hidden... → out_features`` with diverse hidden neurons.

    Layers are named ``body.fc1, body.act1, ..., body.head``; ``body.act{k}`` outputs the hidden activity of layer k
    (used for participation ratios).

    Args:
        in_features: input dimension D.
        out_features: output dimension (classes C, or regression targets).
        hidden: widths of the hidden layers (seed 004: one layer of 100).
        activation: an :data:`~coterie.neurons.diverse.ActivationSpec` — a fixed name, a ``LearnedSpec`` (default:
            two learned types from a base sine, sub-networks of 50) or a sequence of N_T activation modules.
        assignment: unit → type assignment shared by all hidden layers (``None``: equal contiguous blocks).
        mean, std: input normalisation, applied inside the model.

    Shapes: input (B, D) (or (B, *) flattening to D) → output (B, out_features).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        hidden: Sequence[int] = (100,),
        activation: ActivationSpec | None = None,
        assignment: Sequence[int] | None = None,
        mean: float = 0.0,
        std: float = 1.0,
    ) -> None:
        super().__init__()
        self.in_features = in_features
        self._set_normalization(mean, std, ndim=2)
        spec = LearnedSpec() if activation is None else activation
        self.body = mlp_stack(in_features, out_features, hidden, spec, assignment)
        self.depth = len(hidden)

    def _forward(self, x: Tensor) -> Tensor:
        return self.body(x)

    def forward(self, x: Tensor) -> Tensor:
        """Outputs (B, out_features) for input (B, D)."""
        return self.body(self.normalize(x.reshape(x.shape[0], -1)))

    def hidden_layers(self) -> list[str]:
        """Names of the hidden activation modules, in forward order (``body.act1``, ...)."""
        return [f"body.act{k}" for k in range(1, self.depth + 1)]

    def reset_network(self) -> None:
        """Re-initialise the weights θ of the linear layers, leaving the activations' parameters untouched."""
        for m in self.body:
            if isinstance(m, nn.Linear):
                m.reset_parameters()
