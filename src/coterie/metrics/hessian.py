"""Loss-Hessian statistics from Hessian-vector products: Hutchinson trace and SLQ spectral density (seed 004).

Everything here is built on ``torch.autograd`` Hessian-vector products (double back-propagation through the loss
gradient, no full Hessian), the way PyHessian does it, whose own ``density()`` no longer works on current torch.

- :func:`hessian_trace` — Hutchinson's estimator tr H ≈ mean over Rademacher probes v of vᵀ H v (Avron 2011).
- :func:`hessian_spectral_density` — stochastic Lanczos quadrature (Ubaru, Chen & Saad 2017): each run starts
  Lanczos (with full re-orthogonalisation) from a random unit vector; the eigenvalues θ_i of the m × m tridiagonal
  matrix are quadrature nodes, the squared first components of its eigenvectors τ_i their weights; the empirical
  spectral density is their average, optionally smoothed by a Gaussian of width σ.
- :func:`exact_hessian` — the full P × P Hessian, for tiny models and tests.

``loss_fn(outputs, targets)`` is evaluated on ``model(x)`` for ``data = (x, y)`` with the model as it is (call
``model.eval()`` first if it has dropout or batch norm).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call

LossFn = Callable[[Tensor, Tensor], Tensor]


def _params(model: nn.Module, params: Sequence[Tensor] | None) -> list[Tensor]:
    ps = [p for p in model.parameters() if p.requires_grad] if params is None else list(params)
    if not ps:
        raise ValueError("no parameters to differentiate (none require grad)")
    return ps


def hvp_operator(
    model: nn.Module, loss_fn: LossFn, data: tuple[Tensor, Tensor], params: Sequence[Tensor] | None = None
) -> tuple[Callable[[Tensor], Tensor], int]:
    """A Hessian-vector-product operator on the flattened parameters.

    Returns:
        ``(hvp, P)``: ``hvp(v)`` maps a flat vector (P,) to H v (P,); P is the number of scalar parameters.
    """
    ps = _params(model, params)
    x, y = data
    loss = loss_fn(model(x), y)
    # parameters the loss does not reach (e.g. an HNN's output bias) have a zero gradient and Hessian row
    grads = torch.autograd.grad(loss, ps, create_graph=True, allow_unused=True)
    flat_grad = torch.cat([(g if g is not None else torch.zeros_like(p)).reshape(-1) for g, p in zip(grads, ps)])
    n = flat_grad.numel()

    def hvp(v: Tensor) -> Tensor:
        hv = torch.autograd.grad(
            flat_grad, ps, grad_outputs=v.to(flat_grad.dtype), retain_graph=True, allow_unused=True
        )
        return torch.cat([(h if h is not None else torch.zeros_like(p)).reshape(-1) for h, p in zip(hv, ps)]).detach()

    return hvp, n


def hessian_trace(
    model: nn.Module,
    loss_fn: LossFn,
    data: tuple[Tensor, Tensor],
    probes: int = 100,
    params: Sequence[Tensor] | None = None,
    seed: int = 0,
) -> float:
    """Hutchinson estimate of the loss Hessian's trace, tr H ≈ (1/S) Σ_s v_sᵀ H v_s with Rademacher v_s.

    Args:
        model: the network; its parameters (or ``params``) are the Hessian's variables.
        loss_fn: ``loss_fn(model(x), y) -> scalar``.
        data: ``(x, y)``, inputs (B, ...) and targets (B, ...).
        probes: number S of random probe vectors (the estimator's standard error falls as 1/√S).
        params: the parameters to differentiate (default: all that require grad).
        seed: seeds the probes.

    Returns:
        The estimated trace as a float.
    """
    hvp, n = hvp_operator(model, loss_fn, data, params)
    dev = next(iter(_params(model, params))).device
    g = torch.Generator().manual_seed(seed)
    total = 0.0
    for _ in range(probes):
        v = (torch.randint(0, 2, (n,), generator=g) * 2 - 1).to(dev, torch.float32)
        total += float(torch.dot(v, hvp(v).to(v.dtype)))
    return total / probes


@dataclass
class SpectralDensity:
    """SLQ quadrature of the Hessian's eigenvalue density.

    Attributes:
        nodes: per run, the Ritz values θ_i (m_r,) (NumPy float64).
        weights: per run, the quadrature weights τ_i (m_r,), summing to 1.
        dimension: P, the number of parameters.
    """

    nodes: list[np.ndarray]
    weights: list[np.ndarray]
    dimension: int

    @property
    def eig_range(self) -> tuple[float, float]:
        """(smallest, largest) Ritz value over all runs — inside [λ_min, λ_max] by eigenvalue interlacing."""
        return float(min(n.min() for n in self.nodes)), float(max(n.max() for n in self.nodes))

    def density(self, grid: np.ndarray | Tensor, sigma: float | None = None) -> np.ndarray:
        """The density on ``grid`` (G,), Gaussian-smoothed with width ``sigma`` (default: 1% of the range).

        Integrates to ≈1 over a grid that covers the range plus a few σ.
        """
        g = np.asarray(grid, dtype=np.float64)
        lo, hi = self.eig_range
        s = sigma if sigma is not None else max(0.01 * (hi - lo), 1e-12)
        out = np.zeros_like(g)
        for nod, w in zip(self.nodes, self.weights):
            out += (w[None, :] * np.exp(-0.5 * ((g[:, None] - nod[None, :]) / s) ** 2)).sum(1)
        return out / (len(self.nodes) * s * math.sqrt(2 * math.pi))

    def fraction_near_zero(self, tol: float = 1e-2, relative: bool = True) -> float:
        """Estimated fraction of eigenvalues with |λ| ≤ tol (× max |θ| when ``relative``): the weight of such nodes."""
        scale = max(abs(v) for v in self.eig_range) if relative else 1.0
        thr = tol * scale
        return float(np.mean([w[np.abs(nod) <= thr].sum() for nod, w in zip(self.nodes, self.weights)]))

    def to_dict(self) -> dict[str, object]:
        lo, hi = self.eig_range
        return {
            "min": lo,
            "max": hi,
            "dimension": self.dimension,
            "nodes": [n.tolist() for n in self.nodes],
            "weights": [w.tolist() for w in self.weights],
        }


def lanczos(matvec: Callable[[Tensor], Tensor], v0: Tensor, iterations: int) -> tuple[np.ndarray, np.ndarray]:
    """Lanczos tridiagonalisation with full re-orthogonalisation.

    Args:
        matvec: symmetric operator on (P,) vectors.
        v0: starting vector (P,) (normalised inside).
        iterations: m ≤ P (stops early on an invariant subspace).

    Returns:
        ``(alpha (k,), beta (k-1,))``, the tridiagonal's diagonal and off-diagonal (k ≤ m).
    """
    n = v0.numel()
    m = min(iterations, n)
    basis = torch.zeros(m, n, dtype=torch.float64, device=v0.device)
    v = v0.to(torch.float64) / v0.to(torch.float64).norm()
    alphas: list[float] = []
    betas: list[float] = []
    for j in range(m):
        basis[j] = v
        w = matvec(v.to(torch.float32)).to(torch.float64)
        alpha = float(torch.dot(w, v))
        alphas.append(alpha)
        # full re-orthogonalisation (twice, for stability) against all previous vectors
        for _ in range(2):
            w = w - basis[: j + 1].T @ (basis[: j + 1] @ w)
        beta = float(w.norm())
        if j == m - 1 or beta < 1e-10 * max(1.0, abs(alpha)):
            break
        betas.append(beta)
        v = w / beta
    return np.asarray(alphas), np.asarray(betas[: len(alphas) - 1])


def hessian_spectral_density(
    model: nn.Module,
    loss_fn: LossFn,
    data: tuple[Tensor, Tensor],
    iterations: int = 50,
    runs: int = 1,
    params: Sequence[Tensor] | None = None,
    seed: int = 0,
) -> SpectralDensity:
    """Stochastic Lanczos quadrature of the loss Hessian's eigenvalue density.

    Args:
        model, loss_fn, data, params: as for :func:`hessian_trace`.
        iterations: Lanczos steps m per run (nodes per run; m ≥ P recovers the exact spectrum).
        runs: independent random starting vectors (averaged).
        seed: seeds the starting vectors.

    Returns:
        :class:`SpectralDensity` with its nodes, weights, ``density(grid)`` and ``fraction_near_zero()``.
    """
    hvp, n = hvp_operator(model, loss_fn, data, params)
    dev = next(iter(_params(model, params))).device
    g = torch.Generator().manual_seed(seed)
    nodes, weights = [], []
    for _ in range(runs):
        v0 = torch.randn(n, generator=g, dtype=torch.float64).to(dev)
        a, b = lanczos(hvp, v0, iterations)
        tri = np.diag(a) + np.diag(b, 1) + np.diag(b, -1)
        evals, evecs = np.linalg.eigh(tri)
        nodes.append(evals)
        weights.append(evecs[0, :] ** 2)
    return SpectralDensity(nodes, weights, n)


def exact_hessian(
    model: nn.Module, loss_fn: LossFn, data: tuple[Tensor, Tensor], params: dict[str, Tensor] | None = None
) -> Tensor:
    """The full loss Hessian (P, P) over the model's parameters (flattened in ``named_parameters`` order).

    Cost and memory are O(P²): for tiny models and tests only.
    """
    named = dict(model.named_parameters()) if params is None else params
    names = list(named)
    shapes = [named[k].shape for k in names]
    sizes = [named[k].numel() for k in names]
    flat0 = torch.cat([named[k].detach().reshape(-1) for k in names])
    x, y = data

    def f(flat: Tensor) -> Tensor:
        parts = dict(zip(names, (c.reshape(s) for c, s in zip(flat.split(sizes), shapes))))
        return loss_fn(functional_call(model, parts, (x,), strict=False), y)

    return torch.autograd.functional.hessian(f, flat0)
