"""Activity and weight statistics (seed 000 Fig 6, Tables S3, S4): a tiny network with fixed weights computed by
hand, forward hooks on a convolutional member as the reference, and torch.std for the weight spread."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from coterie import models
from coterie.analysis import activity_from_features, layer_activity, weight_std, weight_values
from coterie.ensemble import Ensemble

X = torch.tensor([[1.0, -1.0], [2.0, 1.0], [-1.0, -1.0], [0.5, 0.5]])


def _fixed_pair() -> Ensemble:
    """Two 2 → 3 → 2 → 2 ReLU MLPs with hand-set weights (see the expected values below)."""
    a = models.create("mlp", in_features=2, num_classes=2, hidden=[3, 2])
    b = models.create("mlp", in_features=2, num_classes=2, hidden=[3, 2])
    w1 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    with torch.no_grad():
        a.fc1.weight.copy_(w1)
        a.fc1.bias.copy_(torch.tensor([0.0, 0.0, -1.0]))
        a.fc2.weight.copy_(torch.tensor([[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]]))
        a.fc2.bias.copy_(torch.tensor([0.0, 0.5]))
        b.fc1.weight.copy_(-w1)
        b.fc1.bias.zero_()
        b.fc2.weight.zero_()
        b.fc2.bias.fill_(-1.0)  # a dead layer: every unit inactive
    return Ensemble([a, b], executor="loop")


# Member a, act1 (ReLU of fc1): rows [1,0,0], [2,1,2], [0,0,0], [0.5,0.5,0] (the last unit of sample 4 is exactly 0:
# inactive). Inactive fractions 2/3, 0, 1, 1/3 → 1/2; mean activations 1/3, 5/3, 0, 1/3 → 7/12; active values sum
# 7 over 6 units → 7/6. act2: rows [1,.5], [1,.5], [0,.5], [0,.5] → inactive 1/4, mean 1/2, active mean 4/6.
# Member b, act1: rows [0,1,0], [0,0,0], [1,1,2], [0,0,0] → inactive 2/3, mean 5/12, active mean 5/4; act2 is dead.
EXPECTED = {
    "act1": {
        "inactive_fraction": [1 / 2, 2 / 3],
        "mean_activation": [7 / 12, 5 / 12],
        "mean_active_activation": [7 / 6, 5 / 4],
    },
    "act2": {
        "inactive_fraction": [1 / 4, 1.0],
        "mean_activation": [1 / 2, 0.0],
        "mean_active_activation": [2 / 3, math.nan],
    },
}


@pytest.mark.parametrize("batch_size", [1, 3, 4, 100])
def test_layer_activity_by_hand(batch_size: int) -> None:
    ens = _fixed_pair()
    got = layer_activity(ens, X, batch_size=batch_size)
    assert set(got) == {"act1", "act2"}
    for layer, stats in EXPECTED.items():
        for key, ref in stats.items():
            np.testing.assert_allclose(got[layer][key].numpy(), ref, rtol=1e-6, err_msg=f"{layer} {key}")
    assert ens.training  # the mode is restored


def test_activity_from_features_by_hand() -> None:
    ens = _fixed_pair()
    with torch.no_grad():
        _, feats = ens.forward_with_features(X, ["act1", "act2"])
    for layer, stats in EXPECTED.items():
        got = activity_from_features(feats[layer])
        for key, ref in stats.items():
            np.testing.assert_allclose(got[key].numpy(), ref, rtol=1e-6, err_msg=f"{layer} {key}")


def test_layer_selection_and_eval_mode_restored() -> None:
    ens = _fixed_pair().eval()
    got = layer_activity(ens, X, layers=["act2"])
    assert list(got) == ["act2"]
    assert not ens.training


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.sampled_from([-0.5, 0.0, 0.25, 1.0]), st.integers(0, 2**31 - 1))
def test_activity_from_features_equals_a_loop(n: int, b: int, threshold: float, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    f = torch.relu(torch.randn(n, b, 3, 4, generator=g, dtype=torch.float64))
    got = activity_from_features(f, threshold)
    a = f.reshape(n, b, -1).numpy()
    for i in range(n):
        inactive = np.mean([np.mean(a[i, k] <= threshold) for k in range(b)])
        mean = np.mean([np.mean(a[i, k]) for k in range(b)])
        act = a[i][a[i] > threshold]
        assert float(got["inactive_fraction"][i]) == pytest.approx(inactive)
        assert float(got["mean_activation"][i]) == pytest.approx(mean)
        if act.size:
            assert float(got["mean_active_activation"][i]) == pytest.approx(act.mean())
        else:
            assert math.isnan(float(got["mean_active_activation"][i]))


def test_layer_activity_of_a_convolutional_member_equals_forward_hooks() -> None:
    torch.manual_seed(0)
    ens = Ensemble.from_factory("lenet5", 2, in_channels=1, num_classes=10, input_size=32, seed=0)
    x = torch.rand(7, 1, 32, 32)
    got = layer_activity(ens, x, batch_size=3)
    names = ens.members[0].feature_layers("activation")
    assert list(got) == names
    for i, member in enumerate(ens.members):
        captured: dict[str, torch.Tensor] = {}
        mods = dict(member.named_modules())
        hooks = [
            mods[name].register_forward_hook(
                lambda _m, _i, out, name=name, into=captured: into.__setitem__(name, out.detach())
            )
            for name in names
        ]
        with torch.no_grad():
            member.eval()(x)
        for h in hooks:
            h.remove()
        for name in names:
            a = captured[name].reshape(7, -1)
            assert float(got[name]["inactive_fraction"][i]) == pytest.approx(float((a <= 0).float().mean()), abs=1e-6)
            assert float(got[name]["mean_activation"][i]) == pytest.approx(float(a.mean()), rel=1e-5)
            assert float(got[name]["mean_active_activation"][i]) == pytest.approx(float(a[a > 0].mean()), rel=1e-5)


def test_weight_std_is_torch_std_per_layer_and_member() -> None:
    ens = Ensemble.from_factory("mlp", 3, in_features=5, num_classes=4, hidden=[6, 7], seed=1)
    with torch.no_grad():
        ens.members[1].fc2.weight.mul_(3.0)  # a wider member
    got = weight_std(ens)
    assert list(got) == ["fc1", "fc2", "head"]  # biases excluded, forward order
    for layer, stds in got.items():
        assert stds.shape == (3,)
        ref = [getattr(m, layer).weight.detach().std() for m in ens.members]
        torch.testing.assert_close(stds, torch.stack(ref))
    vals = weight_values(ens, "fc2")
    assert vals.shape == (3, 7 * 6)
    torch.testing.assert_close(vals.std(1), got["fc2"])


def test_weight_std_of_a_plain_module_uses_its_linear_and_conv_layers() -> None:
    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(1, 2, 3)
            self.lin = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - never called
            return self.lin(x)

    ens = Ensemble([Plain(), Plain()], executor="loop")
    got = weight_std(ens)
    assert list(got) == ["conv", "lin"]
    torch.testing.assert_close(got["conv"], torch.stack([m.conv.weight.std() for m in ens.members]).detach())
