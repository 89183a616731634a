"""The Co-DeepNet architecture chromosome and its search space.

Seed 001 says the genetic algorithm encodes "the entire CNN architecture … including all the structural decisions
and connection patterns" and optimises "both the architecture and the cooperative learning strategy". The reading
chosen here: one chromosome holds

* for each of the two networks (:class:`NetGenes`): a variable-length block of convolution layers, each
  (:class:`ConvGene`) with its number of output channels, its kernel width and the pooling that follows it
  (``max``, ``avg`` or ``none``); a variable-length block of hidden fully connected widths; and a *connection* gene
  ``share`` saying which form of this network's features is transmitted to its partner's FC head — ``flatten`` (the
  whole pooled feature map) or ``gap`` (one global average per channel, a compact summary);
* the cooperation genes: ``transmission_rate`` (iterations or epochs per active turn, see
  :mod:`coterie.cooperative.training`) and ``learning_rate``.

What is *not* in the chromosome (fixed per experiment, and parameters of :class:`~coterie.cooperative.CoDeepNet`):
the knowledge-transfer mode, the prediction rule and dropout.

A chromosome is valid for a :class:`SearchSpace` when every gene lies in the space's choices and the pooling layers
never shrink the sequence below one position (:meth:`SearchSpace.is_valid`); :meth:`SearchSpace.repair` maps any
chromosome onto the nearest valid one. Chromosomes are frozen dataclasses: hashable, comparable, and serialisable
with :meth:`Chromosome.to_dict` / :meth:`Chromosome.from_dict`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, replace
from typing import Any, Literal

import numpy as np

Pool = Literal["max", "avg", "none"]
Share = Literal["flatten", "gap"]
POOLS: tuple[str, ...] = ("max", "avg", "none")
SHARES: tuple[str, ...] = ("flatten", "gap")


@dataclass(frozen=True)
class ConvGene:
    """One convolution layer: Conv1d(channels, kernel, 'same' padding) → ReLU → pooling (window 2) or none."""

    channels: int
    kernel: int
    pool: str = "max"


@dataclass(frozen=True)
class NetGenes:
    """One network of the pair: its convolution block, its hidden FC widths and the form of features it shares."""

    conv: tuple[ConvGene, ...]
    fc: tuple[int, ...]
    share: str = "flatten"


@dataclass(frozen=True)
class Chromosome:
    """Both networks' structure plus the cooperation parameters."""

    nets: tuple[NetGenes, NetGenes]
    transmission_rate: int = 10
    learning_rate: float = 1e-3

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dictionary (inverse: :meth:`from_dict`)."""
        return {
            "nets": [
                {
                    "conv": [{"channels": g.channels, "kernel": g.kernel, "pool": g.pool} for g in n.conv],
                    "fc": list(n.fc),
                    "share": n.share,
                }
                for n in self.nets
            ],
            "transmission_rate": int(self.transmission_rate),
            "learning_rate": float(self.learning_rate),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Chromosome:
        """Build from :meth:`to_dict` output (or the same structure written in a YAML config)."""
        nets = tuple(
            NetGenes(
                conv=tuple(
                    ConvGene(int(g["channels"]), int(g["kernel"]), str(g.get("pool", "max"))) for g in n["conv"]
                ),
                fc=tuple(int(w) for w in n["fc"]),
                share=str(n.get("share", "flatten")),
            )
            for n in d["nets"]
        )
        if len(nets) != 2:
            raise ValueError(f"a Co-DeepNet chromosome has exactly 2 networks, got {len(nets)}")
        return cls(
            nets=(nets[0], nets[1]),
            transmission_rate=int(d.get("transmission_rate", 10)),
            learning_rate=float(d.get("learning_rate", 1e-3)),
        )

    def key(self) -> str:
        """A stable short identifier (hash of the canonical JSON), the same in every process and run."""
        return hashlib.sha1(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:12]

    def describe(self) -> str:
        """Compact human-readable form, e.g. ``A[8k5m-16k3m|32 flatten] B[… ] tr=10 lr=1e-03``."""

        def net(n: NetGenes) -> str:
            conv = "-".join(f"{g.channels}k{g.kernel}{g.pool[0]}" for g in n.conv)
            return f"[{conv}|{'-'.join(map(str, n.fc))} {n.share}]"

        return f"A{net(self.nets[0])} B{net(self.nets[1])} tr={self.transmission_rate} lr={self.learning_rate:.1e}"


def default_chromosome() -> Chromosome:
    """The hand-chosen default pair: two small, deliberately different CNNs.

    Each is conv → pool → conv → pool → FC → FC → 1 (the last FC being the output unit), as in the issue's default.
    """
    a = NetGenes(conv=(ConvGene(8, 5, "max"), ConvGene(16, 3, "max")), fc=(32,), share="flatten")
    b = NetGenes(conv=(ConvGene(8, 9, "avg"), ConvGene(16, 5, "max")), fc=(32,), share="flatten")
    return Chromosome(nets=(a, b), transmission_rate=10, learning_rate=1e-3)


def _nearest(value: float, choices: tuple[Any, ...]) -> Any:
    return min(choices, key=lambda c: (abs(float(c) - float(value)), float(c)))


@dataclass(frozen=True)
class SearchSpace:
    """Allowed gene values. ``input_length`` (number of CpGs fed to the networks) bounds the number of pools.

    Attributes:
        input_length: sequence length L of the network input.
        conv_depth: (min, max) number of convolution layers per network.
        channels: allowed output channel counts.
        kernels: allowed (odd) kernel widths.
        pools: allowed pooling kinds.
        fc_depth: (min, max) number of hidden FC layers.
        fc_widths: allowed hidden FC widths.
        shares: allowed connection genes.
        transmission_rates: allowed transmission rates (iterations or epochs per turn).
        lr_range: (min, max) learning rate; mutated on a log scale.
    """

    input_length: int = 200
    conv_depth: tuple[int, int] = (1, 3)
    channels: tuple[int, ...] = (4, 8, 12, 16, 24, 32)
    kernels: tuple[int, ...] = (3, 5, 7, 9)
    pools: tuple[str, ...] = POOLS
    fc_depth: tuple[int, int] = (1, 2)
    fc_widths: tuple[int, ...] = (8, 16, 32, 64)
    shares: tuple[str, ...] = SHARES
    transmission_rates: tuple[int, ...] = (1, 5, 10, 25, 50)
    lr_range: tuple[float, float] = (3e-4, 1e-2)

    def __post_init__(self) -> None:
        if self.input_length < 1:
            raise ValueError("input_length must be >= 1")
        if any(k % 2 == 0 for k in self.kernels):
            raise ValueError("kernel widths must be odd ('same' padding)")
        if not (1 <= self.conv_depth[0] <= self.conv_depth[1]) or not (1 <= self.fc_depth[0] <= self.fc_depth[1]):
            raise ValueError("depth ranges must satisfy 1 <= min <= max")
        if not set(self.pools) <= set(POOLS) or not set(self.shares) <= set(SHARES):
            raise ValueError(f"pools must be within {POOLS}, shares within {SHARES}")

    @property
    def max_pools(self) -> int:
        """Most pooling layers (window 2) the input length allows: floor(log2 L)."""
        return math.floor(math.log2(self.input_length))

    # ------------------------------------------------------------------ validity
    def net_problems(self, n: NetGenes) -> list[str]:
        p = []
        if not self.conv_depth[0] <= len(n.conv) <= self.conv_depth[1]:
            p.append(f"conv depth {len(n.conv)} outside {self.conv_depth}")
        if not self.fc_depth[0] <= len(n.fc) <= self.fc_depth[1]:
            p.append(f"fc depth {len(n.fc)} outside {self.fc_depth}")
        for g in n.conv:
            if g.channels not in self.channels:
                p.append(f"channels {g.channels} not in {self.channels}")
            if g.kernel not in self.kernels:
                p.append(f"kernel {g.kernel} not in {self.kernels}")
            if g.pool not in self.pools:
                p.append(f"pool {g.pool!r} not in {self.pools}")
        if sum(g.pool != "none" for g in n.conv) > self.max_pools:
            p.append(f"more pooling layers than input length {self.input_length} allows")
        for w in n.fc:
            if w not in self.fc_widths:
                p.append(f"fc width {w} not in {self.fc_widths}")
        if n.share not in self.shares:
            p.append(f"share {n.share!r} not in {self.shares}")
        return p

    def problems(self, c: Chromosome) -> list[str]:
        """Reasons ``c`` is invalid (empty when valid)."""
        p = [f"net {'AB'[i]}: {m}" for i, n in enumerate(c.nets) for m in self.net_problems(n)]
        if c.transmission_rate not in self.transmission_rates:
            p.append(f"transmission_rate {c.transmission_rate} not in {self.transmission_rates}")
        lo, hi = self.lr_range
        if not (lo * (1 - 1e-9) <= c.learning_rate <= hi * (1 + 1e-9)) or not math.isfinite(c.learning_rate):
            p.append(f"learning_rate {c.learning_rate} outside {self.lr_range}")
        return p

    def is_valid(self, c: Chromosome) -> bool:
        return not self.problems(c)

    # ------------------------------------------------------------------ repair
    def repair_net(self, n: NetGenes) -> NetGenes:
        conv = [
            ConvGene(
                _nearest(g.channels, self.channels),
                _nearest(g.kernel, self.kernels),
                g.pool if g.pool in self.pools else self.pools[0],
            )
            for g in n.conv
        ]
        conv = conv[: self.conv_depth[1]]
        while len(conv) < self.conv_depth[0]:
            conv.append(conv[-1] if conv else ConvGene(self.channels[0], self.kernels[0], self.pools[0]))
        n_pool = sum(g.pool != "none" for g in conv)
        for i in range(len(conv) - 1, -1, -1):  # drop the deepest pools first
            if n_pool <= self.max_pools:
                break
            if conv[i].pool != "none":
                conv[i] = replace(conv[i], pool="none")
                n_pool -= 1
        fc = [_nearest(w, self.fc_widths) for w in n.fc][: self.fc_depth[1]]
        while len(fc) < self.fc_depth[0]:
            fc.append(fc[-1] if fc else self.fc_widths[0])
        share = n.share if n.share in self.shares else self.shares[0]
        return NetGenes(tuple(conv), tuple(fc), share)

    def repair(self, c: Chromosome) -> Chromosome:
        """The nearest valid chromosome: depths clamped, genes snapped to their choices, excess pools removed."""
        lo, hi = self.lr_range
        lr = float(np.clip(c.learning_rate, lo, hi)) if math.isfinite(c.learning_rate) else math.sqrt(lo * hi)
        return Chromosome(
            nets=(self.repair_net(c.nets[0]), self.repair_net(c.nets[1])),
            transmission_rate=_nearest(c.transmission_rate, self.transmission_rates),
            learning_rate=lr,
        )

    # ------------------------------------------------------------------ sampling
    def random_conv_gene(self, rng: np.random.Generator) -> ConvGene:
        return ConvGene(int(rng.choice(self.channels)), int(rng.choice(self.kernels)), str(rng.choice(self.pools)))

    def random_net(self, rng: np.random.Generator) -> NetGenes:
        depth = int(rng.integers(self.conv_depth[0], self.conv_depth[1] + 1))
        fc_depth = int(rng.integers(self.fc_depth[0], self.fc_depth[1] + 1))
        net = NetGenes(
            conv=tuple(self.random_conv_gene(rng) for _ in range(depth)),
            fc=tuple(int(rng.choice(self.fc_widths)) for _ in range(fc_depth)),
            share=str(rng.choice(self.shares)),
        )
        return self.repair_net(net)

    def random_learning_rate(self, rng: np.random.Generator) -> float:
        lo, hi = self.lr_range
        return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))

    def random(self, rng: np.random.Generator) -> Chromosome:
        """A uniformly drawn valid chromosome (learning rate log-uniform)."""
        return Chromosome(
            nets=(self.random_net(rng), self.random_net(rng)),
            transmission_rate=int(rng.choice(self.transmission_rates)),
            learning_rate=self.random_learning_rate(rng),
        )
