"""Co-DeepNet: a pair of small 1-D CNNs that take turns learning and feed each other features (seed 001).

Each network (:class:`CoopCNN`) is ``[Conv1d → ReLU → pool] × k → [FC → ReLU] × m → FC → 1``. Its first FC layer
receives ``[its own flattened feature map ‖ the partner's shared features]``; the partner's features are computed
without gradient (detached), so learning in one network never changes the other.

Training alternates (see :mod:`coterie.cooperative.training`): one network is *active* and trains, the other is
*inactive* (frozen, evaluation mode) and only supplies features; every ``transmission_rate`` iterations (or epochs)
the roles swap. At the swap the freshly trained network's features become the input the newly active network builds
on — this is the knowledge transmission of seed 001.

Readings chosen where seed 001 is vague, and the alternatives offered through ``transfer``:

* ``"features"`` (default): knowledge = feature representations. The active network's FC head sees the partner's
  current features (detached). This is the mechanism the seed describes concretely ("the fully connected layers …
  also receive knowledge transferred from the partner CNN").
* ``"features+distill"``: as above, and in addition the newly active network is pulled towards its partner's
  predictions, ``loss = (1 − λ)·L(ŷ_active, y) + λ·L(ŷ_active, ŷ_partner)`` with ŷ_partner detached (the seed also
  speaks of "distilled knowledge").
* ``"distill"``: prediction distillation only, no feature sharing.
* ``"none"``: no knowledge transfer at all — two networks that merely take turns (ablation).

What the networks receive, and when (issue 22 point 5). The *active* network receives, on every training batch, the
inactive partner's shared features of that batch (``features`` modes) and, in distill modes once the partner has had
a turn, its predictions. The *inactive* network receives nothing while inactive: it is frozen, so the features it
lends are a fixed function of its weights as they stood at the last swap. Seed 001's discrete wording ("every so
often the active CNN passes its learned features to the inactive CNN; then they swap roles") therefore gives the
same computation as this per-batch reading: a snapshot of the partner taken at the swap and the partner's live
features are the same function throughout a turn, because the partner does not change during it (and runs in
evaluation mode, so no dropout noise differs). No second option is offered since no discrete reading differs.
Ablations: ``transfer="none"`` is the same pair taking turns with nothing transferred (its FC layers lack the
partner-input weights, hence fewer parameters — exactly the weights that carry the transfer);
:func:`~coterie.cooperative.training.fit_independent` trains that pair's two networks side by side on every batch
(two independent CNNs averaged, same parameters and epochs as ``none``).

The pair's prediction (``prediction``) is the mean of both networks (default; both have been trained and both see
each other's features) or the output of the last active network.

Inputs are beta values (B, L) in their natural range; the model normalises inside with per-CpG ``input_mean`` /
``input_std`` (1, 1, L) fitted on the training split. Outputs are (B, 1), in the (standardised) target units the
trainer uses.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

from coterie.cooperative.chromosome import Chromosome, ConvGene, NetGenes
from coterie.models.base import CoterieModel

TransferMode = Literal["features", "features+distill", "distill", "none"]
PredictionRule = Literal["mean", "last_active"]
TRANSFER_MODES: tuple[str, ...] = ("features", "features+distill", "distill", "none")
PREDICTION_RULES: tuple[str, ...] = ("mean", "last_active")


def conv_output_shape(genes: NetGenes, input_length: int) -> tuple[int, int]:
    """(channels, length) of a network's final feature map for input length ``input_length``."""
    c, length = 1, input_length
    for g in genes.conv:
        c = g.channels
        if g.pool != "none":
            length //= 2
    if length < 1:
        raise ValueError(
            f"input length {input_length} is too short for {sum(g.pool != 'none' for g in genes.conv)} pooling layers"
        )
    return c, length


def shared_dim(genes: NetGenes, input_length: int) -> int:
    """Width of the features a network transmits: C·L' for ``flatten``, C for ``gap``."""
    c, length = conv_output_shape(genes, input_length)
    return c * length if genes.share == "flatten" else c


class CoopCNN(nn.Module):
    """One member of the pair.

    Args:
        genes: the network's structure.
        input_length: sequence length L.
        partner_dim: width of the partner features appended to the FC input (0: none).
        dropout: dropout probability after each hidden FC layer.

    Submodules: ``conv`` (``conv{k} relu{k} [pool{k}]``), ``fc`` (``fc{k} relu_fc{k} [drop{k}]`` then ``out``).
    """

    def __init__(self, genes: NetGenes, input_length: int, partner_dim: int = 0, dropout: float = 0.0) -> None:
        super().__init__()
        self.share = genes.share
        self.partner_dim = int(partner_dim)
        self.conv = nn.Sequential()
        c_in = 1
        for k, g in enumerate(genes.conv, start=1):
            self.conv.add_module(f"conv{k}", nn.Conv1d(c_in, g.channels, g.kernel, padding=g.kernel // 2))
            self.conv.add_module(f"relu{k}", nn.ReLU())
            if g.pool == "max":
                self.conv.add_module(f"pool{k}", nn.MaxPool1d(2))
            elif g.pool == "avg":
                self.conv.add_module(f"pool{k}", nn.AvgPool1d(2))
            elif g.pool != "none":
                raise ValueError(f"unknown pool {g.pool!r}")
            c_in = g.channels
        self.out_channels, self.out_length = conv_output_shape(genes, input_length)
        self.flat_dim = self.out_channels * self.out_length
        self.share_dim = shared_dim(genes, input_length)
        self.fc = nn.Sequential()
        d = self.flat_dim + self.partner_dim
        for k, w in enumerate(genes.fc, start=1):
            self.fc.add_module(f"fc{k}", nn.Linear(d, w))
            self.fc.add_module(f"relu_fc{k}", nn.ReLU())
            if dropout > 0:
                self.fc.add_module(f"drop{k}", nn.Dropout(dropout))
            d = w
        self.fc.add_module("out", nn.Linear(d, 1))

    def features(self, x: Tensor) -> Tensor:
        """Feature map (B, C, L') of normalised input (B, 1, L)."""
        return self.conv(x)

    def shared(self, h: Tensor) -> Tensor:
        """The transmitted features (B, share_dim) of a feature map (B, C, L')."""
        return h.flatten(1) if self.share == "flatten" else h.mean(dim=2)

    def head(self, h: Tensor, partner: Tensor | None = None) -> Tensor:
        """Output (B, 1) from the own feature map (B, C, L') and partner features (B, partner_dim) or ``None``."""
        z = h.flatten(1)
        if self.partner_dim:
            if partner is None:
                raise ValueError("this network expects partner features")
            z = torch.cat([z, partner], dim=1)
        return self.fc(z)

    def genes(self) -> NetGenes:
        """Read the structure back from the modules (inverse of the constructor)."""
        conv: list[ConvGene] = []
        for m in self.conv:
            if isinstance(m, nn.Conv1d):
                conv.append(ConvGene(m.out_channels, int(m.kernel_size[0]), "none"))
            elif isinstance(m, nn.MaxPool1d):
                conv[-1] = ConvGene(conv[-1].channels, conv[-1].kernel, "max")
            elif isinstance(m, nn.AvgPool1d):
                conv[-1] = ConvGene(conv[-1].channels, conv[-1].kernel, "avg")
        fc = tuple(m.out_features for name, m in self.fc.named_children() if isinstance(m, nn.Linear) and name != "out")
        return NetGenes(tuple(conv), fc, self.share)


class CoDeepNet(CoterieModel):
    """Two cooperating 1-D CNNs built from a :class:`~coterie.cooperative.chromosome.Chromosome`.

    Args:
        chromosome: both networks' structure and the cooperation parameters (``transmission_rate``,
            ``learning_rate``, kept as attributes for the trainer and for :meth:`to_chromosome`).
        input_length: number of CpGs L.
        transfer: knowledge-transfer mode (module docstring): ``features`` | ``features+distill`` | ``distill`` |
            ``none``.
        prediction: ``mean`` of both networks or ``last_active``.
        dropout: dropout after hidden FC layers.
        mean, std: per-position input normalisation, arrays of shape (L,) (or scalars); defaults 0 and 1.

    Shapes: input (B, L) or (B, 1, L) → :meth:`forward` (B, 1), :meth:`forward_members` (2, B, 1).
    """

    input_mean: Tensor
    input_std: Tensor
    active: Tensor

    def __init__(
        self,
        chromosome: Chromosome,
        input_length: int,
        transfer: TransferMode = "features",
        prediction: PredictionRule = "mean",
        dropout: float = 0.0,
        mean: np.ndarray | Tensor | float | None = None,
        std: np.ndarray | Tensor | float | None = None,
    ) -> None:
        super().__init__()
        if transfer not in TRANSFER_MODES:
            raise ValueError(f"transfer must be one of {TRANSFER_MODES}, got {transfer!r}")
        if prediction not in PREDICTION_RULES:
            raise ValueError(f"prediction must be one of {PREDICTION_RULES}, got {prediction!r}")
        self.input_length = int(input_length)
        self.transfer = transfer
        self.prediction = prediction
        self.dropout = float(dropout)
        self.transmission_rate = int(chromosome.transmission_rate)
        self.learning_rate = float(chromosome.learning_rate)
        a, b = chromosome.nets
        sharing = self.shares_features
        self.nets = nn.ModuleList(
            [
                CoopCNN(a, input_length, shared_dim(b, input_length) if sharing else 0, dropout),
                CoopCNN(b, input_length, shared_dim(a, input_length) if sharing else 0, dropout),
            ]
        )
        L = self.input_length
        m = torch.zeros(L) if mean is None else torch.as_tensor(np.asarray(mean, dtype=np.float32)).expand(L)
        s = torch.ones(L) if std is None else torch.as_tensor(np.asarray(std, dtype=np.float32)).expand(L)
        self.register_buffer("input_mean", m.reshape(1, 1, L).clone().float())
        self.register_buffer("input_std", s.reshape(1, 1, L).clone().float().clamp_min(1e-6))
        self.register_buffer("active", torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------ structure
    @property
    def shares_features(self) -> bool:
        return self.transfer in ("features", "features+distill")

    @property
    def distills(self) -> bool:
        return self.transfer in ("distill", "features+distill")

    def to_chromosome(self) -> Chromosome:
        """The chromosome this model realises, read back from its modules (round trip of the constructor)."""
        g0, g1 = self.nets[0].genes(), self.nets[1].genes()  # type: ignore[operator]
        return Chromosome((g0, g1), self.transmission_rate, self.learning_rate)

    def num_parameters(self) -> tuple[int, int]:
        """Trainable parameter counts of the two networks."""
        return tuple(sum(p.numel() for p in n.parameters()) for n in self.nets)  # type: ignore[return-value]

    # ------------------------------------------------------------------ forward passes
    def _prepare(self, x: Tensor) -> Tensor:
        if x.dim() == 2:
            x = x.unsqueeze(1)
        return (x - self.input_mean) / self.input_std

    def forward_members(self, x: Tensor) -> Tensor:
        """Both networks' outputs (2, B, 1); each sees the other's features detached."""
        z = self._prepare(x)
        h = [self.nets[i].features(z) for i in (0, 1)]  # type: ignore[operator]
        outs = []
        for i in (0, 1):
            partner = self.nets[1 - i].shared(h[1 - i]).detach() if self.shares_features else None  # type: ignore[operator]
            outs.append(self.nets[i].head(h[i], partner))  # type: ignore[operator]
        return torch.stack(outs)

    def forward(self, x: Tensor) -> Tensor:
        """The pair's prediction (B, 1): mean of the members or the last active one."""
        outs = self.forward_members(x)
        if self.prediction == "mean":
            return outs.mean(0)
        return outs[int(self.active.item())]

    def active_outputs(self, x: Tensor, active: int, partner_prediction: bool = False) -> tuple[Tensor, Tensor | None]:
        """Outputs used during an active turn.

        The active network runs with gradient; the inactive partner runs under ``torch.no_grad`` (its features, and
        its prediction when ``partner_prediction`` for distillation), so no gradient can reach it.

        Returns:
            ``(ŷ_active (B, 1), ŷ_partner (B, 1) or None)``.
        """
        z = self._prepare(x)
        me, other = self.nets[active], self.nets[1 - active]
        h = me.features(z)  # type: ignore[operator]
        with torch.no_grad():
            h_other = other.features(z)  # type: ignore[operator]
            partner_feats = other.shared(h_other) if self.shares_features else None  # type: ignore[operator]
            partner_pred = None
            if partner_prediction:
                mine = me.shared(h).detach() if self.shares_features else None  # type: ignore[operator]
                partner_pred = other.head(h_other, mine)  # type: ignore[operator]
        out = me.head(h, partner_feats)  # type: ignore[operator]
        return out, partner_pred
