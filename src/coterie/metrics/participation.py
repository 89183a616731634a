"""Participation ratio of neural activity (seed 004, eq. 7; Gao et al. 2017).

For an activity matrix X of M inputs × N neurons, centred per neuron, the covariance C = Xᵀ X / M has eigenvalues
λ_n and

    R = (tr C)² / tr C² = (Σ λ_n)² / Σ λ_n²,    1 ≤ R ≤ N,

R = 1 when all variance lies along one direction and R = N when it is spread evenly over N. The normalised ratio is
r = R / N. (The paper writes X as neurons × inputs; coterie takes the (inputs × neurons) layout every layer's
output already has.)
"""

from __future__ import annotations

import torch
from torch import Tensor


def participation_ratio(activity: Tensor, center: bool = True) -> Tensor:
    """Participation ratio R of an activity matrix.

    Args:
        activity: (M, N) — M inputs (rows) × N neurons (columns). Extra trailing axes are flattened into neurons.
        center: subtract each neuron's mean over inputs first (the covariance of eq. 7). ``False`` uses the raw
            second-moment matrix.

    Returns:
        A 0-d tensor R in [1, N] (float64 computation, returned in the input's floating dtype); NaN when there is no
        variance at all.
    """
    if activity.dim() < 2:
        raise ValueError(f"activity must be (inputs, neurons), got shape {tuple(activity.shape)}")
    dtype = activity.dtype if activity.is_floating_point() else torch.float32
    x = activity.detach().reshape(activity.shape[0], -1).to(torch.float64)
    if center:
        x = x - x.mean(dim=0, keepdim=True)
    m, n = x.shape
    # tr C = ||X||_F² / M and tr C² = ||XᵀX||_F² / M² = ||XXᵀ||_F² / M²; use the smaller Gram matrix
    gram = x.T @ x if n <= m else x @ x.T
    tr = torch.trace(gram)
    tr2 = (gram * gram).sum()
    r = tr * tr / tr2 if tr2 > 0 else torch.tensor(float("nan"), dtype=torch.float64)
    return r.to(dtype)


def normalized_participation_ratio(activity: Tensor, center: bool = True) -> Tensor:
    """r = R / N for an (M, N) activity matrix, in [1/N, 1]."""
    n = activity.reshape(activity.shape[0], -1).shape[1]
    return participation_ratio(activity, center) / n
