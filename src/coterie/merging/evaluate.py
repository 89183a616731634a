"""Reporting a model's accuracy on held-out data — the only merging function that accepts the test split."""

from __future__ import annotations

import torch
from torch import nn

from coterie.merging.data import DataArg, as_batches


@torch.no_grad()
def evaluate(model: nn.Module, test_data: DataArg, *, batch_size: int = 1024) -> dict[str, float]:
    """Accuracy and mean negative log-likelihood of ``model`` (in eval mode) on ``test_data``.

    It reports and chooses nothing. ``test_data`` may be ``(x, y)``, a ``DataLoader``, a ``Splits`` (its ``test``
    part is used) or data wrapped with :func:`coterie.merging.held_out`.

    Returns:
        ``{"accuracy": float, "nll": float}``.
    """
    device = next(model.parameters()).device
    batches = as_batches(test_data, role="test", batch_size=batch_size, device=device)
    was_training = model.training
    model.eval()
    correct, nll, n = 0.0, 0.0, 0
    try:
        for x, y in batches:
            out = model(x)
            correct += float((out.argmax(-1) == y).sum())
            nll += float(torch.nn.functional.cross_entropy(out, y, reduction="sum"))
            n += int(y.shape[0])
    finally:
        model.train(was_training)
    return {"accuracy": correct / n, "nll": nll / n}
