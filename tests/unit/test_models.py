import pytest
import torch

from coterie import models


@pytest.mark.parametrize(
    ("name", "kwargs", "shape"),
    [
        ("mlp", {"in_features": 40, "num_classes": 10, "hidden": (100, 100)}, (4, 40)),
        ("lenet5", {"in_channels": 3, "num_classes": 10}, (4, 3, 32, 32)),
        ("vgg9", {"in_channels": 3, "num_classes": 100, "width": 0.125}, (4, 3, 32, 32)),
        ("resnet20", {"in_channels": 3, "num_classes": 10, "width": 4}, (4, 3, 32, 32)),
        ("cnn1d", {"in_channels": 1, "num_classes": 10, "input_length": 40}, (4, 40)),
    ],
)
def test_forward_shapes_and_features(name, kwargs, shape):
    m = models.create(name, **kwargs)
    x = torch.rand(shape)
    out = m(x)
    assert out.shape == (4, kwargs["num_classes"])
    weighted = m.feature_layers("weighted")
    acts = m.feature_layers("activation")
    assert weighted and acts
    logits, feats = m.forward_with_features(x, weighted[:2] + acts[:1])
    torch.testing.assert_close(logits, out)
    assert all(f.shape[0] == 4 for f in feats.values())


def test_registry_errors():
    assert set(models.names()) >= {"mlp", "lenet5", "vgg9", "resnet20", "cnn1d"}
    with pytest.raises(KeyError, match="registered models"):
        models.create("nope")
    with pytest.raises(KeyError, match="valid names"):
        models.create("mlp").forward_with_features(torch.zeros(1, 40), ["fc9"])


def test_lenet5_matches_table_s1():
    m = models.create("lenet5")
    shapes = [tuple(p.shape) for n, p in m.named_parameters() if n.endswith("weight")]
    assert shapes == [(6, 3, 5, 5), (16, 6, 5, 5), (120, 16, 5, 5), (84, 120), (10, 84)]
    # Xavier init: zero biases
    assert all(float(p.detach().abs().sum()) == 0 for n, p in m.named_parameters() if n.endswith("bias"))


def test_feature_layers_in_forward_order():
    m = models.create("mlp", hidden=(8, 8, 8))
    assert m.feature_layers("weighted") == ["fc1", "fc2", "fc3", "head"]
    assert m.feature_layers("activation") == ["act1", "act2", "act3"]


def test_normalisation_inside_model():
    m = models.create("lenet5", in_channels=1, input_size=28)
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(m(x), m._forward(m.normalize(x)))
    assert m.normalize(torch.full((1, 1, 28, 28), 0.5)).abs().max() == 0
