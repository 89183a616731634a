"""GAL, the Gradient Alignment Loss of Kariyappa & Qureshi (2019), a baseline of seed 002.

The loss is the one the official trainer computes (DVERGE repository, ``train/train_gal.py``,
``GAL_Trainer.train``)::

    L_GAL = (1/N) Σ_i CE_i + λ · mean_b log(Σ_{i<j} exp(cos(∇_x CE_i(x_b), ∇_x CE_j(x_b))) + 1e-20)

* the member cross-entropies (each a batch mean) are *averaged* over the N members (``ce_loss / len(models)``);
* the coherence term takes, per sample b, the log of the summed exponentials of the pairwise input-gradient
  cosines plus ``log_offset = 1e-20``, and only then the mean over the batch (``torch.log(cos_sim.exp().sum(-1) +
  log_offset).mean()``): a smooth maximum of the pairwise alignments, averaged over samples;
* λ = 0.5 is the official default (``arguments.py``, ``gal_train_args``: ``--lambda 0.5``); seed 002 gives no λ of
  its own ("default hyperparameter settings mentioned in the respective papers").

The official GAL run also builds leaky-ReLU members (``utils.get_models(..., leaky_relu=True)``, slope 0.1 in
``models/resnet.py``) and adds Gaussian noise to training inputs (``utils.get_loaders(args, add_gaussian=True)``:
``AddGaussianNoise(0, 0.045)`` applied with probability 0.5). Neither belongs to the loss: in coterie they are the
member model's ``activation: leaky_relu`` argument (``cnn1d``, ``resnet1d``) and the data augmentation keys
``gaussian_noise_std: 0.045, gaussian_noise_prob: 0.5`` (:mod:`coterie.data.augment`); the robustness experiment's
method entries accept both (``model_kwargs`` and ``augment``).

The input gradient of each member's loss is taken per sample (the batch loss is a sum of independent per-sample
terms, so one backward pass gives every sample's gradient; the official code differentiates the batch *mean*, a
1/B scale that the cosine ignores). The official trainer computes the gradients and the cross-entropy from two
forward passes of the same members; here one forward pass serves both (identical values; BatchNorm running
statistics are updated once per step instead of twice). The joint term is split into per-member losses with
:func:`coterie.objectives.common.shared_term_member_losses`: member i's loss is CE_i / N plus its share of the
coherence term, the losses sum to L_GAL, and the gradient reaching member i is ∂L_GAL/∂θ_i (the official code
trains all members with one optimiser on L_GAL: Adam, lr 1e-3, weight decay 1e-4, eps 1e-7, MultiStepLR; coterie
leaves optimisation to the Trainer's configuration).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from coterie.objectives.base import Objective, ObjectiveOutput, register
from coterie.objectives.common import ensemble_members, shared_term_member_losses, unit_rows

LOG_OFFSET = 1e-20


def member_loss_gradients(
    ensemble: nn.Module, x: Tensor, y: Tensor, create_graph: bool = False
) -> tuple[Tensor, Tensor]:
    """Member logits (N, B, C) and per-sample input gradients of each member's CE, (N, B, D)."""
    members = ensemble_members(ensemble)
    xs = [x.detach().clone().requires_grad_(True) for _ in members]
    logits = torch.stack([m(xi) for m, xi in zip(members, xs)])
    total = sum(F.cross_entropy(logits[i], y, reduction="sum") for i in range(len(members)))
    grads = torch.autograd.grad(total, xs, create_graph=create_graph)
    return logits, torch.stack([g.flatten(1) for g in grads])


def gradient_alignment(grads: Tensor, log_offset: float = LOG_OFFSET) -> Tensor:
    """mean_b log(Σ_{i<j} exp(cos(g_i(b), g_j(b))) + log_offset) for gradients (N, B, D), a scalar (needs N ≥ 2)."""
    n = grads.shape[0]
    u = unit_rows(grads)
    cos = torch.einsum("ibd,jbd->bij", u, u)  # (B, N, N)
    iu = torch.triu_indices(n, n, offset=1, device=grads.device)
    return torch.log(cos[:, iu[0], iu[1]].exp().sum(-1) + log_offset).mean()


@register("gal")
class GAL(Objective):
    """Kariyappa & Qureshi (2019) as the official trainer computes it. Args: ``lam`` (λ, 0.5, the official
    ``--lambda`` default), ``log_offset`` (1e-20, the official ``log_offset``).

    Returns per-member losses (N,) summing to L_GAL and terms ``ce`` (N,), ``gal`` (the coherence term, scalar)
    and ``cos_mean`` (mean pairwise gradient cosine).
    """

    def __init__(self, lam: float = 0.5, log_offset: float = LOG_OFFSET) -> None:
        self.lam = float(lam)
        self.log_offset = float(log_offset)

    def config(self) -> dict[str, Any]:
        return {"lam": self.lam, "log_offset": self.log_offset}

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        n = len(ensemble_members(ensemble))
        if n == 1 or self.lam == 0.0:
            logits = ensemble(x)
            logits = logits if logits.dim() == 3 else logits.unsqueeze(0)
            ce = torch.stack([F.cross_entropy(lg, y) for lg in logits])
            zero = torch.zeros((), device=x.device)
            return ObjectiveOutput(ce / n, {"ce": ce.detach(), "gal": zero, "cos_mean": zero}, logits.detach())
        logits, grads = member_loss_gradients(ensemble, x, y, create_graph=True)
        ce = torch.stack([F.cross_entropy(lg, y) for lg in logits])
        reg = self.lam * shared_term_member_losses(lambda g: gradient_alignment(g, self.log_offset), grads)
        with torch.no_grad():
            u = unit_rows(grads)
            cos = torch.einsum("ibd,jbd->bij", u, u)
            off = ~torch.eye(n, dtype=torch.bool, device=x.device)
            gal = gradient_alignment(grads, self.log_offset)
            terms = {"ce": ce.detach(), "gal": gal, "cos_mean": cos[:, off].mean()}
        return ObjectiveOutput(losses=ce / n + reg, terms=terms, logits=logits.detach())
