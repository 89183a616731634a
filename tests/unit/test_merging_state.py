"""Compatibility checks and the flat state layout used by every merging function."""

from __future__ import annotations

import pytest
import torch

from coterie import merging, models
from coterie.merging.state import StateLayout


def test_mismatch_names_first_differing_tensor() -> None:
    a = models.create("mlp", hidden=(16, 16))
    b = models.create("mlp", hidden=(16, 8))
    with pytest.raises(merging.ArchitectureMismatchError, match=r"'fc2.weight'"):
        merging.check_compatible([a, b])


def test_mismatch_between_families_names_a_tensor() -> None:
    a = models.create("mlp", in_features=40)
    b = models.create("cnn1d")
    with pytest.raises(merging.ArchitectureMismatchError, match="first mismatching tensor"):
        merging.average([a, b])


def test_missing_tensor_is_named() -> None:
    a = models.create("mlp", hidden=(16, 16))
    b = models.create("mlp", hidden=(16,))
    with pytest.raises(merging.ArchitectureMismatchError, match=r"head\.weight|fc2\.weight"):
        merging.check_compatible([a, b])


def test_layout_round_trip_and_copied_buffers() -> None:
    m = models.create("resnet20", in_channels=1, width=4)
    layout = StateLayout(m)
    flat = layout.flatten(m)
    assert flat.shape == (layout.dim,)
    sd = layout.unflatten(flat)
    for k, v in m.state_dict().items():
        assert torch.equal(sd[k], v), k
    assert "bn1.num_batches_tracked" in layout.copied
    assert "input_mean" in layout.copied and "input_std" in layout.copied
    assert "bn1.running_var" in layout.buffer_keys
    mask = layout.parameter_mask()
    assert int(mask.sum()) == sum(p.numel() for p in m.parameters())


def test_stacked_views_share_memory() -> None:
    m = models.create("mlp", hidden=(8,))
    layout = StateLayout(m)
    pop = torch.stack([layout.flatten(m)] * 3)
    st = layout.stacked(pop)
    assert st["fc1.weight"].shape == (3, 8, 40)
    pop[1] += 1.0
    assert torch.allclose(st["fc1.weight"][1], m.fc1.weight + 1.0)
