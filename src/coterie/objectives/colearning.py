"""Co-learning ensembles of interacting networks, seed 000 eq. (1).

    L_i(x) = KL(q ‖ p_i) + Σ_{j≠i} β_ij KL(p_j ‖ p_i)

Each network minimises its own loss L_i, so inside L_i the other networks' distributions p_j are constants: they are
detached here. Summing the L_i and back-propagating once therefore gives member i exactly ∇_{θ_i} L_i — the same as
N separate optimisations — and never pushes p_j through member i's loss. With one-hot targets KL(q ‖ p_i) is the
cross-entropy (H(q) = 0). With β = 0 the objective is the sum of member cross-entropies (:class:`Independent`).

β may be a scalar (uniform, all-to-all coupling, the paper's experiments) or an N×N matrix (β_ij couples member i
to member j; the diagonal is ignored). ``normalize=True`` reads β as β̄ and uses β = β̄/N (seed 000 §3.1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn

from coterie.objectives.base import Objective, ObjectiveOutput, register
from coterie.objectives.colearning_loss import colearning_loss


def beta_matrix(beta: float | Sequence[Sequence[float]] | Tensor, n: int, normalize: bool = False) -> Tensor:
    """The N×N coupling matrix with zero diagonal: a scalar fills the off-diagonal; ``normalize`` divides by N."""
    if isinstance(beta, (int, float)):
        mat = torch.full((n, n), float(beta))
    else:
        mat = torch.as_tensor(beta, dtype=torch.float32).clone()
        if mat.shape != (n, n):
            raise ValueError(f"β matrix must have shape ({n}, {n}) for {n} members, got {tuple(mat.shape)}")
    mat.fill_diagonal_(0.0)
    return mat / n if normalize else mat


@register("colearning")
class CoLearning(Objective):
    """Seed 000 eq. (1). ``beta``: scalar or N×N matrix; ``normalize``: β = β̄/N.

    Returns per-member losses (N,) and terms ``ce`` (N,), ``coupling`` (N,) = Σ_j β_ij KL(p_j‖p_i), ``kl_mean``.

    ``log_floor`` (default ``None``: the exact eq. 1) clamps log p_i from below inside the coupling KL. For β < 0
    eq. (1) is unbounded below — member i lowers L_i without limit by driving p_i → 0 wherever the others put mass —
    and with large learning rates the logits run away (seen on MNIST-1D MLPs at β̄ = −1, SGD lr 0.05: NaN by epoch
    5). A floor such as ``log(1e-4)`` bounds each KL term by −log_floor and stops that runaway while leaving every
    p_i above the floor untouched.
    """

    def __init__(
        self, beta: float | Sequence[Sequence[float]] = 0.0, normalize: bool = False, log_floor: float | None = None
    ) -> None:
        self.beta = beta
        self.normalize = normalize
        self.log_floor = log_floor

    def config(self) -> dict[str, Any]:
        return {"beta": self.beta, "normalize": self.normalize, "log_floor": self.log_floor}

    def _coupling(self, n: int, like: Tensor) -> Tensor | None:
        """The coupling matrix (N, N) on ``like``'s device and dtype, or ``None`` when nothing couples (one member,
        β = 0).

        A scalar β is decided in Python and its matrix kept per (β, N, device, dtype): building it every step cost a
        host-to-device copy and a device sync (``beta.any()``) per CUDA step, and ~40 µs per CPU step.
        """
        if isinstance(self.beta, (int, float)):
            if n < 2 or self.beta == 0:
                return None
            key = (float(self.beta), n, self.normalize, like.device, like.dtype)
            cached = self.__dict__.get("_beta_cache")
            if cached is None or cached[0] != key:
                cached = self._beta_cache = (key, beta_matrix(self.beta, n, self.normalize).to(like))
            return cached[1]
        beta = beta_matrix(self.beta, n, self.normalize).to(like)
        return beta if n > 1 and bool(beta.any()) else None

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        logits = ensemble(x)
        n = logits.shape[0]
        # the whole of eq. (1) in one autograd node with a closed-form backward (colearning_loss.py)
        losses, ce, coupling, kl = colearning_loss(logits, y, self._coupling(n, logits), self.log_floor)
        if kl is None:
            kl_mean = logits.new_zeros(())
        else:
            kl_mean = (kl.sum() - kl.diagonal().sum()) / (n * (n - 1))  # mean over the off-diagonal pairs
        return ObjectiveOutput(losses=losses, terms={"ce": ce, "coupling": coupling, "kl_mean": kl_mean}, logits=logits)
