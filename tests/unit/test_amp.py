"""Mixed precision: bf16 trains on CPU close to float32, parameters stay float32, fp16 is refused on CPU."""

import pytest
import torch

from coterie import CoLearning, Ensemble, Independent, Trainer
from coterie.config import ConfigError, load_config
from coterie.training.amp import Amp


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(128, 10, generator=g)
    return x, (x @ torch.randn(10, 3, generator=g)).argmax(-1)


def _fit(amp, objective=None, executor="auto", epochs=3):
    ens = Ensemble.from_factory("mlp", 3, seed=0, in_features=10, num_classes=3, hidden=(16,), executor=executor)
    x, y = _data()
    tr = Trainer(ens, objective or Independent(), lr=0.2, epochs=epochs, batch_size=32, amp=amp, progress=False)
    return tr.fit((x, y), (x, y)), ens


@pytest.mark.parametrize("executor", ["fused", "loop"])
def test_bf16_on_cpu_trains_close_to_float32(executor):
    ref, _ = _fit("off", executor=executor)
    hist, ens = _fit("bf16", executor=executor)
    assert all(p.dtype == torch.float32 for p in ens.parameters())
    first_ref, first = torch.tensor(ref[0]["train_loss"]), torch.tensor(hist[0]["train_loss"])
    assert torch.allclose(first, first_ref, atol=2e-2)  # bf16 keeps ~3 significant digits
    assert first != pytest.approx(first_ref, abs=1e-7)  # and it really ran in bf16
    assert hist[-1]["train_loss"][0] < hist[0]["train_loss"][0]  # it learns
    assert hist[-1]["val_ens_acc_mean"] > 0.7


def test_bf16_with_a_coupled_objective():
    hist, _ = _fit("bf16", CoLearning(-0.5), epochs=2)
    ref, _ = _fit("off", CoLearning(-0.5), epochs=2)
    assert torch.allclose(torch.tensor(hist[0]["train_loss"]), torch.tensor(ref[0]["train_loss"]), atol=2e-2)


def test_fp16_and_unknown_modes_are_refused_clearly():
    with pytest.raises(ValueError, match="amp='fp16' needs a CUDA device, not 'cpu'; use amp='bf16'"):
        _fit("fp16")
    with pytest.raises(ValueError, match="unknown amp mode 'fp8'"):
        Trainer(Ensemble.from_factory("mlp", 1, in_features=2, num_classes=2), Independent(), amp="fp8")
    with pytest.raises(ConfigError, match="amp"):
        load_config({"amp": "fp8"})


def test_off_and_bf16_have_no_loss_scale_state():
    assert Amp("off", torch.device("cpu")).state_dict() == {}
    assert Amp("bf16", torch.device("cpu")).scaler is None
