"""Checks on training and validation data that run before the first step, so bad input fails in a second with a
message naming what is wrong, not deep inside an epoch."""

from __future__ import annotations

import torch
from torch import Tensor, nn


def output_classes(ensemble: nn.Module, first_input: Tensor, device: torch.device) -> int:
    """C, the size of the members' output, from one forward pass on one sample (1, ...) in evaluation mode and
    without autograd (no state changes: no BatchNorm statistics, no executor probe, no random draws).

    Raises:
        ValueError: the input's shape does not fit the members; the message names the shape and torch's reason.
    """
    was_training = ensemble.training
    ensemble.eval()
    try:
        with torch.no_grad():
            out = ensemble(first_input.to(device))
    except (RuntimeError, ValueError, IndexError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(
            f"inputs of shape {tuple(first_input.shape[1:])} (per sample) do not fit the ensemble's members: {reason}"
        ) from e
    finally:
        ensemble.train(was_training)
    return int(out.shape[-1])


def check_labels(y: Tensor, num_classes: int, what: str = "training") -> None:
    """Integer class labels must lie in [0, C); floating-point targets (regression) are not checked.

    Raises:
        ValueError: a label outside [0, C), or boolean labels.
    """
    if y.dtype == torch.bool:
        raise ValueError(f"{what} labels must be integer class indices in [0, {num_classes}), got dtype bool")
    if y.is_floating_point() or y.is_complex() or y.numel() == 0:
        return
    lo, hi = int(y.min()), int(y.max())
    if lo < 0 or hi >= num_classes:
        raise ValueError(
            f"{what} labels must lie in [0, {num_classes}) (the members output {num_classes} classes); "
            f"found labels from {lo} to {hi}"
        )
