"""Automatic mixed precision for the training step: ``off``, ``bf16`` or ``fp16``.

``bf16`` and ``fp16`` run the forward pass and the loss under :func:`torch.autocast` on the training device; the
parameters, gradients and optimiser state stay float32. ``fp16`` needs a loss scale (its range is narrow), kept by a
:class:`torch.amp.GradScaler` whose state goes into checkpoints. ``fp16`` is refused on CPU: CPU autocast's float16
kernels are slow and the use case is a GPU; use ``bf16`` there. Validation and prediction run in float32.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import torch
from torch import Tensor

AmpName = Literal["off", "bf16", "fp16"]
AMP_MODES: tuple[str, ...] = ("off", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_amp(mode: str) -> None:
    if mode not in AMP_MODES:
        raise ValueError(f"unknown amp mode {mode!r}; choose from {AMP_MODES}")


class Amp:
    """The precision policy of one training run on ``device``."""

    def __init__(self, mode: AmpName, device: torch.device) -> None:
        check_amp(mode)
        if mode == "fp16" and device.type != "cuda":
            raise ValueError(f"amp='fp16' needs a CUDA device, not {device.type!r}; use amp='bf16' or 'off' there")
        self.mode, self.device = mode, device
        self.scaler = torch.amp.GradScaler(device.type) if mode == "fp16" else None

    def autocast(self) -> contextlib.AbstractContextManager[Any]:
        """The context the forward pass and the loss run in."""
        if self.mode == "off":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_DTYPES[self.mode])

    def backward_and_step(self, loss: Tensor, optimizer: torch.optim.Optimizer) -> None:
        """``loss.backward()`` and ``optimizer.step()``, through the loss scale under fp16 (a step whose gradients
        overflowed is skipped and the scale lowered, as GradScaler does)."""
        if self.scaler is None:
            loss.backward()
            optimizer.step()
            return
        self.scaler.scale(loss).backward()
        self.scaler.step(optimizer)
        self.scaler.update()

    def state_dict(self) -> dict[str, Any]:
        return self.scaler.state_dict() if self.scaler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scaler is not None and state:
            self.scaler.load_state_dict(state)
