"""Interpolated activations: a learned sub-network frozen into a lookup table (seed 004, Methods).

After meta-learning, each learned activation is sampled on [-10, 10] at 100 evenly spaced points and rebuilt as a
piecewise-linear function (the paper's choice) or a cubic spline (the paper's "quadratic or cubic splines"
option). The result has no parameters, only buffers, plugs into any network as an ordinary activation module and
costs a few elementwise operations instead of a 1 → H → 1 sub-network per scalar.

Outside the sampled range the function continues along the end segment (``extrapolate="linear"``, the default)
or holds the end value (``"clamp"``). The paper does not say; linear continuation keeps gradients alive for
pre-activations that stray past ±10.

Accuracy: piecewise-linear interpolation errs by at most h²/8 · max|σ''| between nodes (h = 20/99 ≈ 0.2 for the
paper's grid, so ≈5·10⁻³ for a sine-like σ); the cubic spline errs by ≈ (5/384) h⁴ max|σ''''| (≈2·10⁻⁵). Use
``kind="cubic"`` or more points when 10⁻³ agreement everywhere in the range matters.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
import torch
from torch import Tensor, nn

InterpKind = Literal["linear", "cubic"]


class InterpolatedActivation(nn.Module):
    """An elementwise activation defined by samples on an even grid.

    Args:
        ys: function values (P,) at ``P`` evenly spaced points from ``lo`` to ``hi``.
        lo, hi: the sampled range.
        kind: ``linear`` or ``cubic`` (not-a-knot cubic spline through the samples).
        extrapolate: ``linear`` (continue along the end segment's slope) or ``clamp`` (hold the end value).

    Shapes:
        input (*), output (*) — elementwise, same dtype as the buffers' (cast to the input's dtype on the fly).
    """

    coef: Tensor

    def __init__(
        self,
        ys: Tensor | np.ndarray,
        lo: float = -10.0,
        hi: float = 10.0,
        kind: InterpKind = "linear",
        extrapolate: Literal["linear", "clamp"] = "linear",
    ) -> None:
        super().__init__()
        y = np.asarray(ys.detach().cpu().double().numpy() if isinstance(ys, Tensor) else ys, dtype=np.float64)
        if y.ndim != 1 or y.size < 2:
            raise ValueError(f"ys must be a 1-D array of at least 2 samples, got shape {y.shape}")
        if not hi > lo:
            raise ValueError(f"need hi > lo, got lo={lo}, hi={hi}")
        if kind not in ("linear", "cubic"):
            raise ValueError(f"kind must be 'linear' or 'cubic', got {kind!r}")
        self.kind = kind
        self.extrapolate = extrapolate
        self.lo, self.hi = float(lo), float(hi)
        self.points = int(y.size)
        self.h = (self.hi - self.lo) / (self.points - 1)
        xs = np.linspace(self.lo, self.hi, self.points)
        if kind == "linear":
            # per interval: value and slope per unit of the normalised coordinate u = (x - lo) / h
            c = np.stack([y[:-1], np.diff(y)])  # (2, P-1)
            end_slope = (y[-1] - y[-2], y[1] - y[0])
        else:
            from scipy.interpolate import CubicSpline

            spline = CubicSpline(xs, y, bc_type="not-a-knot")
            # scipy stores coefficients of (x - x_i)^3, ^2, ^1, ^0; rescale to the normalised t = (x - x_i) / h
            c3, c2, c1, c0 = spline.c
            c = np.stack([c0, c1 * self.h, c2 * self.h**2, c3 * self.h**3])  # (4, P-1)
            d = spline.derivative()
            end_slope = (float(d(xs[-1])) * self.h, float(d(xs[0])) * self.h)
        self.register_buffer("coef", torch.tensor(c, dtype=torch.float32).contiguous())
        self.register_buffer("samples", torch.tensor(y, dtype=torch.float32))
        # (value at hi, slope at hi, value at lo, slope at lo), slopes per unit of u
        self.register_buffer("ends", torch.tensor([y[-1], end_slope[0], y[0], end_slope[1]], dtype=torch.float32))

    @property
    def grid(self) -> Tensor:
        """The sampled abscissae (P,)."""
        return torch.linspace(self.lo, self.hi, self.points)

    def forward(self, x: Tensor) -> Tensor:
        """σ(x) elementwise for input of any shape."""
        coef = self.coef.to(x.dtype)
        n = coef.shape[1]
        u = (x - self.lo) * (1.0 / self.h)
        idx = u.detach().floor().clamp_(0, n - 1).long()
        t = u - idx
        if self.kind == "linear":
            flat = idx.reshape(-1)
            out = torch.addcmul(coef[0][flat].reshape(x.shape), coef[1][flat].reshape(x.shape), t)
            if self.extrapolate == "clamp":
                out = torch.where(u < 0, coef[0, 0], out)
                out = torch.where(u > n, self.ends[0].to(x.dtype), out)
            return out
        tc = t.clamp(0.0, 1.0)
        flat = idx.reshape(-1)
        c0, c1, c2, c3 = (coef[k][flat].reshape(x.shape) for k in range(4))
        out = ((c3 * tc + c2) * tc + c1) * tc + c0
        if self.extrapolate == "linear":
            ends = self.ends.to(x.dtype)
            out = out + torch.where(u > n, ends[1] * (t - tc), ends[3] * (t - tc))
        return out

    def extra_repr(self) -> str:
        return f"points={self.points}, range=[{self.lo}, {self.hi}], kind={self.kind}, extrapolate={self.extrapolate}"


@torch.no_grad()
def export_activation(
    activation: nn.Module | Callable[[Tensor], Tensor],
    points: int = 100,
    lo: float = -10.0,
    hi: float = 10.0,
    kind: InterpKind = "linear",
) -> InterpolatedActivation:
    """Sample ``activation`` at ``points`` evenly spaced inputs on [lo, hi] and rebuild it as an interpolated function.

    The activation is evaluated in float64 on the CPU copy of its parameters when it is an ``nn.Module`` (its own
    device and dtype are left untouched).
    """
    xs = torch.linspace(lo, hi, points, dtype=torch.float64)
    if isinstance(activation, nn.Module):
        import copy

        probe = copy.deepcopy(activation).to(device="cpu", dtype=torch.float64)
        ys = probe(xs)
    else:
        ys = activation(xs)
    return InterpolatedActivation(ys, lo, hi, kind)
