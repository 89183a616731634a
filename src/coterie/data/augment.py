"""Seeded batch augmentation for training batches: ``build_augment(spec, input_shape) -> BatchAugment | None``.

A :class:`BatchAugment` is called as ``aug(x, generator)`` on a whole training batch x (B, *input_shape) already on
the training device. Its random parameters (offsets, flip masks, noise seeds) are drawn from the CPU ``generator``
(so a seeded epoch generator reproduces them), then applied on x's device without a per-sample Python loop. The
output has x's shape and dtype. Validation and test batches are never augmented (the Trainer calls it on training
batches only).

Keys of ``data.augment`` (all optional; applied in this order):

- ``random_crop_padding: p`` — images (C, H, W): zero-pad by p on every side, then crop back to H × W at a random
  offset per sample (the CIFAR standard, ``torchvision.transforms.RandomCrop(32, padding=4)``).
- ``horizontal_flip: true`` — images: mirror the width axis, per sample with probability 0.5.
- ``random_shift: k`` — 1-D signals (L,) or (C, L): circular shift by a per-sample offset uniform in {-k, ..., k}.
  Circular, as MNIST-1D's own generator translates (``mnist1d.transform.translate`` rolls the padded signal:
  ``np.concatenate([x[-k:], x[:-k]])``).
- ``gaussian_noise_std: s`` with ``gaussian_noise_prob: q`` (default 0.5) — add N(0, s²) noise to a sample with
  probability q, no clamping. This is GAL's official setting in the DVERGE repository (``utils.AddGaussianNoise(0.,
  0.045)`` with ``prob=.5`` after crop + flip, on [0, 1] images, unclamped).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

ALLOWED_KEYS = ("random_crop_padding", "horizontal_flip", "random_shift", "gaussian_noise_std", "gaussian_noise_prob")
_IMAGE_KEYS = ("random_crop_padding", "horizontal_flip")
_SIGNAL_KEYS = ("random_shift",)


def validate_augment_spec(spec: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Check the keys, types and ranges of a ``data.augment`` mapping; return it normalised (None when empty)."""
    if spec is None:
        return None
    if not isinstance(spec, Mapping):
        raise ValueError(f"data.augment must be a mapping of {list(ALLOWED_KEYS)}, got {type(spec).__name__}")
    unknown = [k for k in spec if k not in ALLOWED_KEYS]
    if unknown:
        raise ValueError(f"unknown augmentation key(s) {unknown}; allowed: {list(ALLOWED_KEYS)}")
    out: dict[str, Any] = {}
    for key in ("random_crop_padding", "random_shift"):
        if key in spec:
            v = spec[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"data.augment.{key} must be an integer >= 0, got {v!r}")
            out[key] = v
    if "horizontal_flip" in spec:
        if not isinstance(spec["horizontal_flip"], bool):
            raise ValueError(f"data.augment.horizontal_flip must be true or false, got {spec['horizontal_flip']!r}")
        out["horizontal_flip"] = spec["horizontal_flip"]
    for key, hi in (("gaussian_noise_std", float("inf")), ("gaussian_noise_prob", 1.0)):
        if key in spec:
            v = spec[key]
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v <= hi:
                raise ValueError(f"data.augment.{key} must be a number in [0, {hi}], got {v!r}")
            out[key] = float(v)
    if "gaussian_noise_prob" in out and "gaussian_noise_std" not in out:
        raise ValueError("data.augment.gaussian_noise_prob needs gaussian_noise_std")
    return out or None


def check_augment_fits(spec: Mapping[str, Any] | None, input_shape: tuple[int, ...]) -> None:
    """Raise ValueError when an augmentation in ``spec`` does not apply to inputs of ``input_shape``."""
    if not spec:
        return
    active = [k for k, v in spec.items() if v and k != "gaussian_noise_prob"]
    image = [k for k in active if k in _IMAGE_KEYS]
    if image and len(input_shape) != 3:
        raise ValueError(
            f"data.augment {image} needs images (C, H, W) but the inputs are {tuple(input_shape)}; "
            f"for 1-D signals use random_shift or gaussian_noise_std"
        )
    signal = [k for k in active if k in _SIGNAL_KEYS]
    if signal and len(input_shape) not in (1, 2):
        raise ValueError(
            f"data.augment {signal} needs 1-D signals (L,) or (C, L) but the inputs are "
            f"{tuple(input_shape)}; for images use random_crop_padding / horizontal_flip"
        )
    p = spec.get("random_crop_padding", 0)
    if p and p >= min(input_shape[-2:]):
        raise ValueError(f"data.augment.random_crop_padding={p} must be smaller than the image size {input_shape[-2:]}")
    k = spec.get("random_shift", 0)
    if k and k >= input_shape[-1]:
        raise ValueError(f"data.augment.random_shift={k} must be smaller than the signal length {input_shape[-1]}")


def crop(x: Tensor, padding: int, dy: Tensor, dx: Tensor) -> Tensor:
    """Zero-pad x (B, C, H, W) by ``padding`` and crop H × W starting at rows ``dy`` (B,), columns ``dx`` (B,)."""
    b, c, h, w = x.shape
    wp = w + 2 * padding
    xp = F.pad(x, (padding, padding, padding, padding)).flatten(2)  # (B, C, (H + 2p)·(W + 2p))
    rows = dy.to(x.device)[:, None, None] + torch.arange(h, device=x.device)[:, None]  # (B, H, 1)
    cols = dx.to(x.device)[:, None, None] + torch.arange(w, device=x.device)  # (B, 1, W)
    idx = (rows * wp + cols).view(b, 1, h * w)  # one gather of the crop's flat positions
    return xp.gather(2, idx.expand(b, c, h * w)).view(b, c, h, w)


def flip(x: Tensor, mask: Tensor) -> Tensor:
    """Mirror the last axis of the samples of x (B, ...) where ``mask`` (B,) bool is true."""
    m = mask.to(x.device).view(-1, *([1] * (x.dim() - 1)))
    return torch.where(m, x.flip(-1), x)


def shift(x: Tensor, offsets: Tensor) -> Tensor:
    """Circularly shift the last axis of x (B, ..., L) by ``offsets`` (B,): out[..., i] = x[..., (i - s) mod L]."""
    b, n = x.shape[0], x.shape[-1]
    idx = (torch.arange(n, device=x.device) - offsets.to(x.device)[:, None]) % n  # (B, L)
    idx = idx.view(b, *([1] * (x.dim() - 2)), n).expand_as(x)
    return x.gather(-1, idx)


class BatchAugment:
    """A seeded augmentation of whole training batches; see the module docstring for the keys and their sources."""

    def __init__(self, spec: Mapping[str, Any], input_shape: tuple[int, ...]) -> None:
        self.spec = dict(spec)
        self.input_shape = tuple(input_shape)
        self.padding = int(spec.get("random_crop_padding", 0))
        self.hflip = bool(spec.get("horizontal_flip", False))
        self.max_shift = int(spec.get("random_shift", 0))
        self.noise_std = float(spec.get("gaussian_noise_std", 0.0))
        self.noise_prob = float(spec.get("gaussian_noise_prob", 0.5))

    def __repr__(self) -> str:
        return f"BatchAugment({self.spec})"

    def __call__(self, x: Tensor, generator: torch.Generator) -> Tensor:
        """Augment x (B, *input_shape) on its device with parameters drawn from the CPU ``generator``."""
        if tuple(x.shape[1:]) != self.input_shape:
            raise ValueError(f"augmentation built for inputs {self.input_shape} got a batch {tuple(x.shape)}")
        b = x.shape[0]
        if self.padding:
            dy, dx = torch.randint(0, 2 * self.padding + 1, (2, b), generator=generator)
            x = crop(x, self.padding, dy, dx)
        if self.hflip:
            x = flip(x, torch.rand(b, generator=generator) < 0.5)
        if self.max_shift:
            x = shift(x, torch.randint(-self.max_shift, self.max_shift + 1, (b,), generator=generator))
        if self.noise_std:
            mask = (torch.rand(b, generator=generator) < self.noise_prob).to(x.device)
            seed = int(torch.randint(0, 2**62, (1,), generator=generator))
            g = torch.Generator(device=x.device).manual_seed(seed)
            noise = torch.randn(x.shape, generator=g, device=x.device, dtype=x.dtype) * self.noise_std
            x = x + noise * mask.view(-1, *([1] * (x.dim() - 1))).to(x.dtype)
        return x


def build_augment(spec: Mapping[str, Any] | None, input_shape: tuple[int, ...]) -> BatchAugment | None:
    """The :class:`BatchAugment` for ``data.augment`` on inputs of ``input_shape`` (per sample), or None when no
    augmentation is asked for. Unknown keys, bad values and augmentations that do not fit the inputs (a flip or crop
    of a 1-D signal, a shift of an image) raise ValueError before training starts."""
    norm = validate_augment_spec(spec)
    if norm is None or not any(v for k, v in norm.items() if k != "gaussian_noise_prob"):
        return None
    check_augment_fits(norm, tuple(input_shape))
    return BatchAugment(norm, tuple(input_shape))
