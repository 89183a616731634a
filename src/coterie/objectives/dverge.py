"""DVERGE, diversifying vulnerabilities by cross-adversarial training (Yang et al., NeurIPS 2020), a baseline of
seed 002.

Every epoch one hidden layer l is drawn at random. For each batch (x, y) and each member j, a *feature-distilled*
image is crafted: starting from x, signed steps minimise ‖f_j^l(x') − f_j^l(x_t)‖² inside the L∞ ball of radius ε
around x (and [0, 1]), where x_t is another image of the batch (a random permutation). x' looks like x but carries
x_t's non-robust features for member j. Member i is then trained with cross-entropy on the distilled images of the
*other* members, labelled with the source labels y:

    L_i = Σ_{j≠i} CE(M_i(x'_j), y)

Sources in the official code (DVERGE repository): the distillation is ``distillation.py``, ``Linf_distillation``
(see :func:`feature_distillation`); the loss and the layer draw are ``train/train_dverge.py``,
``DVERGE_Trainer.train`` (one optimiser per member, ``loss += criterion(m(distilled_j), sl)`` over j ≠ i; a layer
drawn uniformly every epoch with ``random.randint(1, depth)``); the defaults are ``arguments.py``,
``dverge_train_args``: ε = 0.07 (``--distill-eps``), step 0.007 (``--distill-alpha``), 10 steps
(``--distill-steps``), no random start (``--distill-rand-start`` off), momentum on (``--distill-no-momentum``
turns it off) with μ = 1 (``Linf_distillation``'s ``mu=1``). Choices where coterie differs or the official setup is
silent:

* the candidate layers are the hidden convolution / linear outputs (the official ``get_features(...,
  before_relu=True)`` returns the BatchNorm output before the ReLU, after the residual sum in a block's second
  layer; the two coincide for members without BatchNorm such as ``cnn1d``), and the output layer is not a
  candidate (the official ``random.randint(1, depth)`` can draw layer ``depth``, the logits);
* optimisation is the experiment's (the official trainer: one SGD per member, lr 0.1, momentum 0.9, weight decay
  1e-4, MultiStepLR at epochs 100 and 150, 200 epochs after a 200-epoch baseline);
* targets x_t are the current batch in a random order with no sample its own target (a random permutation rolled
  by one); the official code draws them from a second shuffled loader (``utils.DistillationLoader``), where a sample
  meets itself with probability 1/|train set| — a plain permutation would leave ~1 sample per batch undistilled
  (its feature gradient toward itself is zero);
* the members are switched to eval mode while the images are distilled (the official code leaves them in train
  mode, so its 10 distillation passes also move BatchNorm's running statistics) and restored afterwards;
* the official code starts DVERGE from pre-trained baseline members (``--start-from baseline``); ``warmup_epochs``
  trains with plain CE for that many epochs first, which plays the same role when training from scratch (the
  robustness experiment can also start from the unprotected ensemble with ``init_from``);
* with one member there are no other members: L_1 is the clean cross-entropy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from coterie.models.base import FeatureCapture, StopForwardError
from coterie.objectives.base import Objective, ObjectiveOutput, member_cross_entropy, register
from coterie.objectives.common import ensemble_members, hidden_layers, resolve_layers
from coterie.utils.projection import project_linf, random_start


def layer_output(model: nn.Module, x: Tensor, layer: str) -> Tensor:
    """Output of submodule ``layer`` for input x, stopping the forward pass there (stays in the autograd graph)."""
    capture = FeatureCapture(stop=True)
    handle = capture.attach(dict(model.named_modules())[layer], layer)
    try:
        model(x)
    except StopForwardError:
        pass
    finally:
        handle.remove()
    if layer not in capture.outputs:
        raise RuntimeError(f"layer {layer!r} was not called by the forward pass")
    return capture.outputs[layer]


def l1_normalised(g: Tensor, eps: float = 1e-12) -> Tensor:
    """Each sample's gradient divided by its L1 norm (floored at ``eps``): g (B, ...) → same shape."""
    l1 = g.abs().flatten(1).sum(1).clamp_min(eps)
    return g / l1.view(-1, *([1] * (g.dim() - 1)))


def feature_distillation(
    model: nn.Module,
    x: Tensor,
    target: Tensor,
    layer: str,
    eps: float,
    step_size: float,
    steps: int,
    *,
    momentum: bool = True,
    mu: float = 1.0,
    rand_start: bool = False,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Images near x (L∞ ≤ eps, in [0, 1]) whose layer-``layer`` features match those of ``target``.

    The official ``Linf_distillation`` (DVERGE repository, ``distillation.py``), step by step: start at x (or, with
    ``rand_start``, at x + U(−ε, ε) clipped to [0, 1]); each step takes the input gradient of the mean squared
    feature distance (``nn.MSELoss()`` against the target's detached features); with ``momentum`` (the official
    default) divides it by each sample's L1 norm (floored at 1e-12) and accumulates ``g ← mu · g + grad`` (official
    ``mu=1``); steps ``x ← x − step_size · sign(g)`` (plain ``sign(grad)`` without momentum); projects onto the
    ε-ball around x and onto [0, 1].

    Args:
        model: one member (put in eval mode while distilling, restored after).
        x, target: (B, *input_shape) in [0, 1].
        layer: submodule name whose output is matched.
        eps, step_size, steps: the L∞ radius, sign-step size and number of steps (official 0.07, 0.007, 10).
        momentum, mu: the L1-normalised gradient momentum and its decay (official: on, 1.0).
        rand_start: start from a uniform random point of the ε-ball (official: off); ``generator`` seeds it.

    Returns:
        Distilled images (B, *input_shape), detached.
    """
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ft = layer_output(model, target, layer)
        x0 = x.detach()
        x_adv = random_start(x0, eps, generator) if rand_start else x0.clone()
        g = torch.zeros_like(x0)
        for _ in range(steps):
            x_adv.requires_grad_(True)
            loss = F.mse_loss(layer_output(model, x_adv, layer), ft)
            (grad,) = torch.autograd.grad(loss, x_adv)
            if momentum:
                g = mu * g + l1_normalised(grad)
                grad = g
            x_adv = project_linf(x_adv.detach() - step_size * grad.sign(), x0, eps)
    finally:
        model.train(was_training)
    return x_adv.detach()


@register("dverge")
class DVERGE(Objective):
    """Yang et al. (2020). Args (defaults: the official ``dverge_train_args`` and ``Linf_distillation``): ``eps``
    (0.07), ``step_size`` (0.007), ``steps`` (10), ``momentum`` (True; False is ``--distill-no-momentum``), ``mu``
    (1.0), ``rand_start`` (False), ``layers`` (candidate layers: None = all hidden convolution/linear layers, an int
    K = the first K, or names), ``warmup_epochs`` (0).

    Returns per-member losses (N,) and terms ``ce`` (N,) (the distilled-image loss) and ``layer`` (index of the
    drawn layer among the candidates).
    """

    def __init__(
        self,
        eps: float = 0.07,
        step_size: float = 0.007,
        steps: int = 10,
        layers: int | Sequence[str] | None = None,
        warmup_epochs: int = 0,
        momentum: bool = True,
        mu: float = 1.0,
        rand_start: bool = False,
    ) -> None:
        if not 0.0 <= eps <= 1.0:
            raise ValueError(f"eps must be in [0, 1], got {eps}")
        if steps < 1:
            raise ValueError(f"steps must be >= 1, got {steps}")
        self.eps, self.step_size, self.steps = float(eps), float(step_size), int(steps)
        self.layers = layers if layers is None or isinstance(layers, int) else list(layers)
        self.warmup_epochs = int(warmup_epochs)
        self.momentum, self.mu, self.rand_start = bool(momentum), float(mu), bool(rand_start)
        self._candidates: list[str] | None = None
        self._layer_index: int | None = None
        self._epoch = 0
        self._generator: torch.Generator | None = None

    def config(self) -> dict[str, Any]:
        return {
            "eps": self.eps,
            "step_size": self.step_size,
            "steps": self.steps,
            "layers": self.layers,
            "warmup_epochs": self.warmup_epochs,
            "momentum": self.momentum,
            "mu": self.mu,
            "rand_start": self.rand_start,
        }

    def bind(self, ensemble: nn.Module) -> list[str]:
        """Resolve and validate the candidate layers on ``ensemble``; returns their names."""
        first = ensemble_members(ensemble)[0]
        self._candidates = hidden_layers(first) if self.layers is None else resolve_layers(first, self.layers)
        if not self._candidates:
            raise ValueError("DVERGE needs a model with at least one hidden convolution/linear layer")
        return self._candidates

    def on_epoch_start(self, epoch: int, ensemble: nn.Module, generator: torch.Generator) -> None:
        """Draw this epoch's layer uniformly from the candidates with the Trainer's generator."""
        candidates = self._candidates if self._candidates is not None else self.bind(ensemble)
        self._epoch = epoch
        self._generator = generator
        self._layer_index = int(torch.randint(len(candidates), (1,), generator=generator).item())

    def distill(self, member: nn.Module, x: Tensor, target: Tensor, layer: str) -> Tensor:
        """:func:`feature_distillation` with this objective's settings (random starts from its generator)."""
        return feature_distillation(
            member,
            x,
            target,
            layer,
            self.eps,
            self.step_size,
            self.steps,
            momentum=self.momentum,
            mu=self.mu,
            rand_start=self.rand_start,
            generator=self._generator,
        )

    @property
    def layer(self) -> str | None:
        """The layer drawn for the current epoch (None before the first epoch)."""
        if self._candidates is None or self._layer_index is None:
            return None
        return self._candidates[self._layer_index]

    def __call__(self, ensemble: nn.Module, x: Tensor, y: Tensor) -> ObjectiveOutput:
        members = ensemble_members(ensemble)
        n = len(members)
        if self._candidates is None:
            self.bind(ensemble)
        if self._generator is None:  # called outside a Trainer: a fixed, seeded stream
            self.on_epoch_start(0, ensemble, torch.Generator().manual_seed(0))
        if n == 1 or self._epoch < self.warmup_epochs:
            logits = ensemble(x)
            logits = logits if logits.dim() == 3 else logits.unsqueeze(0)
            ce = member_cross_entropy(logits, y)
            return ObjectiveOutput(ce, {"ce": ce.detach(), "layer": torch.tensor(-1.0)}, logits.detach())
        layer = self.layer
        assert layer is not None and self._generator is not None
        perm = torch.randperm(x.shape[0], generator=self._generator).to(x.device)
        target = torch.empty_like(x)
        target[perm] = x[perm.roll(1)]  # sample perm[k] is distilled toward perm[k-1]: never itself (B ≥ 2)
        distilled = [self.distill(m, x, target, layer) for m in members]
        losses = []
        for i, m in enumerate(members):
            # one forward per other member's distilled batch, as the official trainer runs them: BatchNorm normalises
            # over B samples and updates its running statistics once per batch, not once over (N-1)·B
            losses.append(sum(F.cross_entropy(m(d), y) for j, d in enumerate(distilled) if j != i))
        loss_t = torch.stack(losses)  # type: ignore[arg-type]
        return ObjectiveOutput(
            losses=loss_t, terms={"ce": loss_t.detach(), "layer": torch.tensor(float(self._layer_index))}
        )
