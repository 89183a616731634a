"""Identical LeNet-5 members as one network: a shared first convolution, grouped convolutions, batched products.

N LeNet-5 members (:class:`coterie.models.lenet5.LeNet5`) read the same input. Run one after another, each first
convolution has only 6 output channels, too few for the convolution kernels to work efficiently, and every member's
activations go through ReLU and max-pooling separately. Here the members run as one wider network, channels
member-major (member i owns channels [i·C, (i+1)·C)):

    conv1   one convolution, 3 → N·6 channels (the input is shared)                    (B, N·6, 28, 28)
            (per-member input normalisation: the N normalised inputs side by side, groups = N)
    pool1   max-pool, then ReLU — max-pooling commutes with ReLU (both monotone), so the ReLU and its backward
            touch a quarter of the elements; values and gradients are the loop's (tests)
    conv2   grouped convolution, groups = N, N·6 → N·16                                  (B, N·16, 10, 10)
    pool2   max-pool, then ReLU
    conv3   covers the whole 5×5 map: a batched product over the flattened (16·5·5) maps   (N, B, 120)
    fc1/fc2 batched products                                                             (N, B, 84), (N, B, C)

On CPU the input goes in as ``channels_last``, as the loop executor passes it. Gradients flow through autograd to the
members' own parameters (``torch.cat`` / ``torch.stack`` of them), so the members stay the single source of truth.
Measured with ``python benchmarks/executors.py`` (5 members, batch 512, 3×32×32, 2 threads): see docs/performance.md.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def _plain_conv(conv: nn.Module) -> bool:
    return (
        type(conv) is nn.Conv2d
        and conv.stride == (1, 1)
        and conv.padding == (0, 0)
        and conv.dilation == (1, 1)
        and conv.groups == 1
        and conv.padding_mode == "zeros"
        and conv.bias is not None
    )


def _pool_2x2(pool: nn.Module) -> bool:
    return (
        type(pool) is nn.MaxPool2d
        and pool.kernel_size in (2, (2, 2))
        and pool.stride in (2, (2, 2))
        and pool.padding in (0, (0, 0))
        and pool.dilation in (1, (1, 1))
        and not pool.ceil_mode
        and not pool.return_indices
    )


def lenet_supported(first: nn.Module) -> bool:
    """True when ``first`` is a :class:`~coterie.models.lenet5.LeNet5` with the standard layers this executor
    reproduces (stride-1 unpadded convolutions with bias, 2×2 max-pools, ReLU activations, unmodified forward)."""
    from coterie.models.lenet5 import LeNet5

    if type(first) is not LeNet5:
        return False
    convs_ok = all(_plain_conv(getattr(first, f"conv{k}")) for k in (1, 2, 3))
    pools_ok = _pool_2x2(first.pool1) and _pool_2x2(first.pool2)
    acts_ok = all(type(getattr(first, f"relu{k}")) is nn.ReLU for k in range(1, 5))
    linears_ok = all(type(fc) is nn.Linear and fc.bias is not None for fc in (first.fc1, first.fc2))
    return convs_ok and pools_ok and acts_ok and linears_ok


def _joined(members: Sequence[nn.Module], layer: str, join: Callable[[list[Tensor]], Tensor]) -> tuple[Tensor, Tensor]:
    """The members' ``layer`` weights and biases, each joined in member order by ``join`` (torch.cat or stack)."""
    layers = [getattr(m, layer) for m in members]
    return join([lay.weight for lay in layers]), join([lay.bias for lay in layers])


def fused_lenet_forward(members: Sequence[nn.Module], x: Tensor, shared_stats: bool) -> Tensor:
    """Logits (N, B, C) of identical LeNet-5 members on input x (B, C_in, S, S) in its natural range.

    ``shared_stats``: whether all members normalise the input with the same mean and std
    (:func:`coterie.ensemble.executors.shared_input_stats`).
    """
    n = len(members)
    first = members[0]
    if shared_stats:
        h = first.normalize(x)  # (B, C_in, S, S)
        groups = 1
    else:
        h = torch.cat([m.normalize(x) for m in members], 1)  # (B, N·C_in, S, S), member-major channels
        groups = n
    if h.device.type == "cpu":
        h = h.contiguous(memory_format=torch.channels_last)
    h = F.conv2d(h, *_joined(members, "conv1", torch.cat), groups=groups)
    h = F.max_pool2d(h, 2).relu_()  # = relu then pool, exactly (see the module docstring)
    h = F.conv2d(h, *_joined(members, "conv2", torch.cat), groups=n)
    h = F.max_pool2d(h, 2).relu_()  # (B, N·16, s, s)
    b, _, s, s2 = h.shape
    conv3 = first.conv3
    if conv3.kernel_size != (s, s2):
        raise ValueError(f"LeNet-5 conv3 kernel {conv3.kernel_size} must cover the {s}×{s2} map")
    c2 = conv3.in_channels
    h = h.reshape(b, n, c2 * s * s2).transpose(0, 1)  # (N, B, 16·s·s), each member's maps flattened as conv3 reads
    w3, b3 = _joined(members, "conv3", torch.stack)
    w3 = w3.reshape(n, conv3.out_channels, -1)  # (N, 120, 16·s·s)
    h = torch.baddbmm(b3.unsqueeze(1), h, w3.transpose(1, 2)).relu_()  # (N, B, 120)
    for layer in ("fc1", "fc2"):  # (N, B, 84), then the logits (N, B, C)
        w, b_ = _joined(members, layer, torch.stack)
        h = torch.baddbmm(b_.unsqueeze(1), h, w.transpose(1, 2))
        if layer == "fc1":
            h = h.relu_()
    return h
