"""Linear centred kernel alignment (Kornblith et al. 2019), used by seed 002 Fig. 2 to compare members layer by layer.

    CKA(X, Y) = ‖Yᶜᵀ Xᶜ‖_F² / (‖Xᶜᵀ Xᶜ‖_F · ‖Yᶜᵀ Yᶜ‖_F)

for representations X (n × p) and Y (n × q) of the same n samples, with columns centred (Xᶜ). It lies in [0, 1],
equals 1 for X = Y, and is invariant to orthogonal transforms and isotropic scaling of either representation.

For sets too large to hold at once, :class:`MinibatchCKA` accumulates the unbiased HSIC estimator (Song et al. 2012)
over minibatches, CKA = Σ HSIC₁(K, L) / sqrt(Σ HSIC₁(K, K) · Σ HSIC₁(L, L)) (Nguyen et al. 2021); it converges to the
full-set value as the batches grow, and is unbiased in the HSIC terms.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from coterie.models.base import capture_features


def _as_2d(x: Tensor) -> Tensor:
    return x.reshape(x.shape[0], -1).to(torch.float64)


def linear_cka(X: Tensor, Y: Tensor) -> Tensor:
    """Linear CKA between representations X (n, p...) and Y (n, q...) of the same n samples (flattened per sample).

    Returns a 0-d tensor in [0, 1] (float64). Computed in feature space when features are fewer than samples and in
    sample space (Gram matrices) otherwise; both give the same number.
    """
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"X and Y must describe the same samples, got {X.shape[0]} and {Y.shape[0]} rows")
    x = _as_2d(X)
    y = _as_2d(Y)
    x = x - x.mean(0, keepdim=True)
    y = y - y.mean(0, keepdim=True)
    n = x.shape[0]
    if max(x.shape[1], y.shape[1]) <= n:
        num = (y.T @ x).pow(2).sum()
        den = (x.T @ x).norm() * (y.T @ y).norm()
    else:
        k, m = x @ x.T, y @ y.T
        num = (k * m).sum()
        den = k.norm() * m.norm()
    return num / den.clamp_min(1e-300)


def unbiased_hsic(K: Tensor, L: Tensor) -> Tensor:
    """The unbiased HSIC estimator HSIC₁ of two n × n Gram matrices (n ≥ 4), Song et al. (2012) eq. (5)."""
    n = K.shape[0]
    if n < 4:
        raise ValueError(f"the unbiased HSIC estimator needs at least 4 samples, got {n}")
    k = K.clone()
    m = L.clone()
    k.fill_diagonal_(0)
    m.fill_diagonal_(0)
    ones = torch.ones(n, dtype=k.dtype, device=k.device)
    term1 = (k * m).sum()
    term2 = (ones @ k @ ones) * (ones @ m @ ones) / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (ones @ k @ (m @ ones))
    return (term1 + term2 - term3) / (n * (n - 3))


class MinibatchCKA:
    """Accumulating linear CKA over minibatches with the unbiased HSIC estimator.

    Example::

        acc = MinibatchCKA()
        for xb in batches:
            acc.update(feat_a(xb), feat_b(xb))   # (B, p), (B, q), B >= 4
        value = acc.compute()
    """

    def __init__(self) -> None:
        self.xy = torch.zeros((), dtype=torch.float64)
        self.xx = torch.zeros((), dtype=torch.float64)
        self.yy = torch.zeros((), dtype=torch.float64)

    def update(self, X: Tensor, Y: Tensor) -> None:
        """Add one minibatch of paired representations X (B, p...) and Y (B, q...)."""
        x, y = _as_2d(X).cpu(), _as_2d(Y).cpu()
        k, m = x @ x.T, y @ y.T
        self.xy += unbiased_hsic(k, m)
        self.xx += unbiased_hsic(k, k)
        self.yy += unbiased_hsic(m, m)

    def compute(self) -> Tensor:
        """The accumulated CKA (0-d float64)."""
        return self.xy / (self.xx * self.yy).clamp_min(1e-300).sqrt()


def layerwise_cka(ensemble: nn.Module, x: Tensor, layers: Sequence[str], batch_size: int | None = None) -> Tensor:
    """CKA between every pair of members at every layer (seed 002 Fig. 2).

    Args:
        ensemble: an Ensemble (``members``) of N networks sharing the layer names, in eval mode.
        x: held-out inputs (M, ...).
        layers: L layer names.
        batch_size: ``None`` computes exact linear CKA on all M samples at once; an integer accumulates the
            minibatch (unbiased HSIC) estimate over batches of that size (each ≥ 4 samples).

    Returns:
        (L, N, N) tensor, float64, symmetric in the member axes with ones on the diagonal.
    """
    members = list(getattr(ensemble, "members", [ensemble]))
    n, nl = len(members), len(layers)
    out = torch.ones(nl, n, n, dtype=torch.float64)
    with torch.no_grad():
        if batch_size is None:
            feats = [capture_features(m, x, layers)[1] for m in members]
            for li, name in enumerate(layers):
                for i in range(n):
                    for j in range(i + 1, n):
                        out[li, i, j] = out[li, j, i] = linear_cka(feats[i][name], feats[j][name])
            return out
        accs = {(li, i, j): MinibatchCKA() for li in range(nl) for i in range(n) for j in range(i + 1, n)}
        for start in range(0, x.shape[0], batch_size):
            xb = x[start : start + batch_size]
            if xb.shape[0] < 4:
                break
            feats = [capture_features(m, xb, layers)[1] for m in members]
            for (li, i, j), acc in accs.items():
                acc.update(feats[i][layers[li]], feats[j][layers[li]])
        for (li, i, j), acc in accs.items():
            out[li, i, j] = out[li, j, i] = acc.compute()
    return out
