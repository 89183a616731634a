"""Cost of a Co-DeepNet chromosome and the Pareto front of (validation MAE, parameters) (issue 22 point 6).

The genetic search may add ``cost_weight × cost`` to the validation MAE, with ``cost`` the pair's trainable
parameters in thousands or its forward FLOPs per sample in millions (seed 001 claims the pair is efficient, so an
architecture that buys a small MAE gain with many parameters can be penalised). The front lists every evaluated
chromosome that no other one beats on both MAE and parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from coterie.cooperative.chromosome import Chromosome


def model_cost(model: Any, input_length: int) -> tuple[int, int]:
    """(trainable parameters, forward FLOPs per sample) of a network taking inputs (B, ``input_length``) (FLOPs 0
    when torch's counter is unavailable)."""
    from coterie.cooperative.training import forward_flops

    return sum(p.numel() for p in model.parameters() if p.requires_grad), forward_flops(model, input_length)


def pair_cost(chromosome: Chromosome, input_length: int, transfer: str = "features") -> tuple[int, int]:
    """:func:`model_cost` of the pair built from ``chromosome``."""
    from coterie.cooperative.codeepnet import CoDeepNet

    return model_cost(CoDeepNet(chromosome, input_length, transfer), input_length)  # type: ignore[arg-type]


def cost_term(kind: str, parameters: int, flops: int) -> float:
    """The cost in the fitness's units: thousands of parameters (``parameters``), forward MFLOPs (``flops``), 0
    (``none``)."""
    if kind == "none":
        return 0.0
    if kind == "parameters":
        return parameters / 1e3
    if kind == "flops":
        return flops / 1e6
    raise ValueError(f"unknown cost {kind!r}; allowed: none, parameters, flops")


def pareto_front(points: Sequence[dict[str, Any]], x: str = "parameters", y: str = "val_mae") -> list[int]:
    """Indices of the points no other point dominates (≤ on both ``x`` and ``y``, < on one), sorted by ``x``."""
    front = []
    for i, p in enumerate(points):
        dominated = any(q[x] <= p[x] and q[y] <= p[y] and (q[x] < p[x] or q[y] < p[y]) for q in points)
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: (points[i][x], points[i][y]))
