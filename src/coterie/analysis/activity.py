"""Activity and weight statistics of member networks (seed 000 Fig 6, Tables S3 and S4).

Definitions (the paper is terse; these are the readings used throughout coterie):

- *fraction of inactive units* of a layer: for each sample, the fraction of the layer's units whose activation is
  ≤ 0 (a ReLU unit that does not fire), averaged over samples (Fig 6a: "mean fraction of non-activated units per
  sample").
- *mean activation*: the activation averaged over units and samples (Fig 6b, Table S3 "mean activation"); also
  reported over active units only (``mean_active_activation``, the "firing rate when firing"), since Table S3
  shows sparser layers with a *higher* mean.
- *weight standard deviation* of a layer: the standard deviation of its weight tensor's entries (Table S4; biases
  are excluded).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from coterie.ensemble import Ensemble


def activity_from_features(features: Tensor, threshold: float = 0.0) -> dict[str, Tensor]:
    """Per-member activity statistics of one layer.

    Args:
        features: activations (N, B, ...) of one layer for N members on B samples.
        threshold: a unit is inactive when its activation is ``<= threshold``.

    Returns:
        ``inactive_fraction`` (N,), ``mean_activation`` (N,), ``mean_active_activation`` (N,) — the last is NaN for a
        member with no active unit.
    """
    n, b = features.shape[:2]
    f = features.reshape(n, b, -1).float()
    active = f > threshold
    inactive_fraction = (~active).float().mean(-1).mean(-1)
    mean_activation = f.mean(-1).mean(-1)
    count = active.float().sum((1, 2))
    nan = torch.full_like(count, float("nan"))
    mean_active = torch.where(count > 0, (f * active).sum((1, 2)) / count.clamp_min(1), nan)
    return {
        "inactive_fraction": inactive_fraction,
        "mean_activation": mean_activation,
        "mean_active_activation": mean_active,
    }


@torch.no_grad()
def layer_activity(
    ensemble: Ensemble, x: Tensor, layers: Sequence[str] | None = None, batch_size: int = 2048
) -> dict[str, dict[str, Tensor]]:
    """Activity statistics per activation layer, over the samples ``x`` (held-out data).

    Args:
        ensemble: N members with named activation layers (``feature_layers("activation")``).
        x: inputs (M, ...).
        layers: layer names; defaults to every activation layer of member 0.

    Returns:
        ``{layer: {"inactive_fraction": (N,), "mean_activation": (N,), "mean_active_activation": (N,)}}``.
    """
    was_training = ensemble.training
    ensemble.eval()
    names = list(layers) if layers is not None else ensemble.members[0].feature_layers("activation")
    device = next(ensemble.parameters()).device
    sums: dict[str, dict[str, Tensor]] = {}
    active_sums: dict[str, Tensor] = {}
    active_counts: dict[str, Tensor] = {}
    m = x.shape[0]
    try:
        for i in range(0, m, batch_size):
            xb = x[i : i + batch_size].to(device)
            _, feats = ensemble.forward_with_features(xb, names)
            for name in names:
                f = feats[name].reshape(feats[name].shape[0], xb.shape[0], -1).float().cpu()
                act = f > 0
                s = sums.setdefault(name, {"inactive_fraction": 0.0, "mean_activation": 0.0})  # type: ignore[dict-item]
                s["inactive_fraction"] = s["inactive_fraction"] + (~act).float().mean(-1).sum(-1)
                s["mean_activation"] = s["mean_activation"] + f.mean(-1).sum(-1)
                active_sums[name] = active_sums.get(name, 0.0) + (f * act).sum((1, 2))  # type: ignore[operator]
                active_counts[name] = active_counts.get(name, 0.0) + act.float().sum((1, 2))  # type: ignore[operator]
    finally:
        ensemble.train(was_training)
    out: dict[str, dict[str, Tensor]] = {}
    for name in names:
        c = active_counts[name]
        out[name] = {
            "inactive_fraction": sums[name]["inactive_fraction"] / m,
            "mean_activation": sums[name]["mean_activation"] / m,
            "mean_active_activation": torch.where(
                c > 0, active_sums[name] / c.clamp_min(1), torch.full_like(c, float("nan"))
            ),
        }
    return out


def weighted_layers(model: nn.Module) -> list[str]:
    """Names of convolution / linear layers in forward order (``feature_layers("weighted")`` when available)."""
    if hasattr(model, "feature_layers"):
        return list(model.feature_layers("weighted"))
    return [n for n, mod in model.named_modules() if isinstance(mod, (nn.Conv1d, nn.Conv2d, nn.Linear))]


@torch.no_grad()
def weight_std(ensemble: Ensemble) -> dict[str, Tensor]:
    """Standard deviation of each weighted layer's weights, per member: ``{layer: (N,)}`` (Table S4)."""
    names = weighted_layers(ensemble.members[0])
    out: dict[str, Tensor] = {}
    for name in names:
        vals = [dict(m.named_modules())[name].weight.detach().float().std() for m in ensemble.members]
        out[name] = torch.stack(vals).cpu()
    return out


@torch.no_grad()
def weight_values(ensemble: Ensemble, layer: str) -> Tensor:
    """All weights of ``layer`` for every member, flattened: (N, P) (Fig 6c histograms)."""
    return torch.stack(
        [dict(m.named_modules())[layer].weight.detach().float().reshape(-1).cpu() for m in ensemble.members]
    )
