"""The residual 1-D CNN member: shapes, named features, depth, options and registration."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import coterie
from coterie.models.resnet1d import ResNet1d


def test_shapes_and_named_features() -> None:
    m = coterie.models.create("resnet1d", widths=(8, 12, 16), blocks=2)
    x = torch.rand(5, 40)
    assert m(x).shape == (5, 10)
    assert m(x.unsqueeze(1)).shape == (5, 10)
    names = ["conv1", "relu1", "layer1.1.relu2", "layer2.0.relu1", "layer3.1.relu2", "fc"]
    out, f = m.forward_with_features(x, names)
    assert out.shape == (5, 10)
    assert f["conv1"].shape == (5, 8, 40) and f["relu1"].shape == (5, 8, 40)
    assert f["layer1.1.relu2"].shape == (5, 8, 40)
    assert f["layer2.0.relu1"].shape == (5, 12, 20)
    assert f["layer3.1.relu2"].shape == (5, 16, 10)
    assert torch.equal(f["fc"], out)


def test_depth_counts_main_path_convolutions() -> None:
    for blocks, convs in ((1, 7), (2, 13), (3, 19)):
        m = coterie.models.create("resnet1d", blocks=blocks)
        weighted = m.feature_layers("weighted")
        main = [n for n in weighted if isinstance(dict(m.named_modules())[n], nn.Conv1d) and "shortcut" not in n]
        assert len(main) == convs
        assert len(m.feature_layers("activation")) == convs


def test_options_and_bad_input() -> None:
    leaky = coterie.models.create("resnet1d", activation="leaky_relu", batchnorm=False)
    assert all(a.negative_slope == 0.1 for a in leaky.modules() if isinstance(a, nn.LeakyReLU))
    assert not any(isinstance(b, nn.BatchNorm1d) for b in leaky.modules())
    assert "resnet1d" in coterie.models.names()
    with pytest.raises(ValueError, match="3 stage widths"):
        ResNet1d(widths=(4, 8))
    with pytest.raises(ValueError, match="unknown activation"):
        ResNet1d(activation="swish")


def test_trains_a_few_steps() -> None:
    ens = coterie.Ensemble.from_factory("resnet1d", 2, seed=0, widths=(4, 6, 8), blocks=1)
    x, y = torch.rand(32, 40), torch.randint(0, 3, (32,))
    with torch.no_grad():
        before = float(torch.nn.functional.cross_entropy(ens(x).reshape(-1, 10), y.repeat(2)))
    coterie.Trainer(
        ens, coterie.Independent(), optimizer="adam", lr=1e-2, epochs=8, batch_size=32, progress=False, device="cpu"
    ).fit((x, y))
    ens.train()
    with torch.no_grad():
        after = float(torch.nn.functional.cross_entropy(ens(x).reshape(-1, 10), y.repeat(2)))
    assert after < before
