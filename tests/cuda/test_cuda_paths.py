"""Every training path on CUDA, checked against the same run on the CPU: executors, objectives, per-member order,
mixed precision, Datasets through pinned-memory loaders, augmentation, resume, prediction and the attacks.

Marked ``cuda`` and skipped without a CUDA device; ``benchmarks/cuda_check.py`` runs them. TF32 is switched off
inside each test, so CUDA float32 products and convolutions round like the CPU's (tolerances stay tight).
"""

from __future__ import annotations

import json

import pytest
import torch
from torch.utils.data import DataLoader, Subset, TensorDataset

from coterie import Ensemble, Independent, Trainer, objectives
from coterie.attacks import fgsm, pgd, whitebox_accuracy
from coterie.data.augment import build_augment
from coterie.training.callbacks import Callback

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]

CUDA = torch.device("cuda")


@pytest.fixture(autouse=True)
def _no_tf32():
    old = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    yield
    torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def _mlp_data(n=96, d=10, c=3):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, d, generator=g)
    return x, (x @ torch.randn(d, c, generator=g)).argmax(-1)


def _signal_data(n=64):
    g = torch.Generator().manual_seed(1)
    x = torch.rand(n, 16, generator=g)
    return x, (x[:, :8].sum(1) > x[:, 8:].sum(1)).long()


def _run(make_ens, obj, data, device, **kw):
    ens = make_ens()
    kw = {"lr": 0.05, "epochs": 2, "batch_size": 32, "seed": 3, "progress": False, "device": device, **kw}
    hist = Trainer(ens, obj() if callable(obj) else obj, **kw).fit(data, data)
    return hist, ens


def _close(a, b, atol=1e-4):
    for ra, rb in zip(a, b):
        assert torch.allclose(torch.tensor(ra["train_loss"]), torch.tensor(rb["train_loss"]), atol=atol, rtol=1e-4)


def _mlp(executor):
    kw = {"in_features": 10, "num_classes": 3, "hidden": (16,), "executor": executor}
    return lambda: Ensemble.from_factory("mlp", 3, seed=0, **kw)


@pytest.mark.parametrize("executor", ["loop", "fused", "vmap"])
def test_each_executor_trains_on_cuda_as_on_cpu(executor):
    obj = lambda: objectives.create("colearning", beta=-0.5)  # noqa: E731
    cpu, _ = _run(_mlp(executor), obj, _mlp_data(), "cpu")
    gpu, ens = _run(_mlp(executor), obj, _mlp_data(), "cuda")
    assert next(ens.parameters()).device.type == "cuda"
    _close(cpu, gpu)
    assert gpu[-1]["val_member_acc"] == pytest.approx(cpu[-1]["val_member_acc"], abs=0.02)


@pytest.mark.parametrize("executor", ["loop", "fused"])
def test_lenet5_on_cuda_as_on_cpu(executor):
    g = torch.Generator().manual_seed(2)
    data = torch.rand(48, 3, 32, 32, generator=g), torch.randint(0, 10, (48,), generator=g)
    make = lambda: Ensemble.from_factory("lenet5", 2, seed=0, executor=executor)  # noqa: E731
    obj = lambda: objectives.create("colearning", beta=-0.3)  # noqa: E731
    cpu, _ = _run(make, obj, data, "cpu", batch_size=16)
    gpu, _ = _run(make, obj, data, "cuda", batch_size=16)
    _close(cpu, gpu, atol=1e-3)


@pytest.mark.parametrize("name", ["independent", "colearning", "parl", "adp", "gal", "dverge"])
def test_each_objective_trains_on_cuda_as_on_cpu(name):
    params = {"colearning": {"beta": -0.5}, "parl": {"layers": 2}, "dverge": {"steps": 2}}.get(name, {})
    make = lambda: Ensemble.from_factory("cnn1d", 3, seed=0, channels=(4, 8), hidden=12, input_length=16)  # noqa: E731
    cpu, _ = _run(make, lambda: objectives.create(name, **params), _signal_data(), "cpu", epochs=1)
    gpu, _ = _run(make, lambda: objectives.create(name, **params), _signal_data(), "cuda", epochs=1)
    _close(cpu, gpu, atol=2e-3 if name == "dverge" else 1e-4)


def test_per_member_order_on_cuda_as_on_cpu():
    cpu, ec = _run(_mlp("auto"), Independent, _mlp_data(), "cpu", data_order="per_member", bootstrap=True)
    gpu, eg = _run(_mlp("auto"), Independent, _mlp_data(), "cuda", data_order="per_member", bootstrap=True)
    _close(cpu, gpu)
    for p, q in zip(ec.parameters(), eg.parameters()):
        assert torch.allclose(p, q.cpu(), atol=1e-4)


@pytest.mark.parametrize("amp", ["bf16", "fp16"])
def test_mixed_precision_on_cuda(amp, tmp_path):
    ref, _ = _run(_mlp("auto"), Independent, _mlp_data(), "cuda", epochs=3)
    hist, ens = _run(_mlp("auto"), Independent, _mlp_data(), "cuda", epochs=3, amp=amp, run_dir=tmp_path)
    assert all(p.dtype == torch.float32 for p in ens.parameters())
    _close(ref[:1], hist[:1], atol=3e-2)
    assert hist[-1]["train_loss"][0] < hist[0]["train_loss"][0]
    index = json.loads((tmp_path / "checkpoints" / "last.json").read_text())
    assert ("scale" in index["amp_scaler"]) == (amp == "fp16")  # GradScaler state is checkpointed under fp16


def test_dataset_through_pinned_loader_equals_tensors_on_cuda():
    x, y = _mlp_data()
    ref, _ = _run(_mlp("auto"), Independent, (x, y), "cuda")
    ds, _ = _run(_mlp("auto"), Independent, TensorDataset(x, y), "cuda", loader_workers=1)
    _close(ref, ds, atol=1e-6)
    loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True, pin_memory=True)
    user, _ = _run(_mlp("auto"), Independent, loader, "cuda")
    assert user[-1]["val_ens_acc_mean"] > 0.5


def test_item_dataset_through_worker_slots_equals_tensors_on_cuda():
    """A per-item Dataset (a Subset, not indexed in memory) with a loader worker: shared-memory slots, pinned copies."""
    x, y = _mlp_data()
    ref, _ = _run(_mlp("auto"), Independent, (x, y), "cuda")
    got, _ = _run(_mlp("auto"), Independent, Subset(TensorDataset(x, y), range(len(x))), "cuda", loader_workers=1)
    _close(ref, got, atol=1e-6)


def test_augmentation_on_cuda_equals_cpu():
    aug = build_augment({"random_crop_padding": 4, "horizontal_flip": True}, (3, 32, 32))
    x = torch.rand(8, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    a = aug(x, torch.Generator().manual_seed(5))
    b = aug(x.to(CUDA), torch.Generator().manual_seed(5))
    assert b.device.type == "cuda" and torch.equal(a, b.cpu())


class _Kill(Callback):
    def on_epoch_end(self, trainer, epoch, record, val_logits):
        if epoch == 1:
            raise KeyboardInterrupt


def test_resume_on_cuda_is_exact(tmp_path):
    kw = {"epochs": 3, "schedule": "multistep", "milestones": (1, 2), "warmup_epochs": 1}
    full, ef = _run(_mlp("auto"), Independent, _mlp_data(), "cuda", run_dir=tmp_path / "a", **kw)
    with pytest.raises(KeyboardInterrupt):
        _run(_mlp("auto"), Independent, _mlp_data(), "cuda", run_dir=tmp_path / "b", callbacks=[_Kill()], **kw)
    resumed, er = _run(_mlp("auto"), Independent, _mlp_data(), "cuda", run_dir=tmp_path / "b", **kw)
    assert [r["train_loss"] for r in full] == [r["train_loss"] for r in resumed]
    assert all(torch.equal(p, q) for p, q in zip(ef.parameters(), er.parameters()))


def test_predict_and_evaluate_on_cuda():
    x, y = _mlp_data()
    ens = _mlp("auto")()
    tr = Trainer(ens, Independent(), epochs=1, device="cuda", progress=False)
    tr.fit((x, y))
    logits = tr.predict(x)
    assert logits.device.type == "cpu" and logits.shape == (3, 96, 3)
    ref = ens.cpu()(x).detach()
    assert torch.allclose(logits, ref, atol=1e-5)
    ens.to(CUDA)
    from_loader = tr.evaluate(DataLoader(TensorDataset(x, y), batch_size=10))
    assert tr.evaluate((x, y))["ens_acc_mean"] == from_loader["ens_acc_mean"]


def test_attacks_on_a_cuda_ensemble_match_cpu():
    g = torch.Generator().manual_seed(4)
    x, y = torch.rand(16, 3, 32, 32, generator=g), torch.randint(0, 10, (16,), generator=g)
    ens = Ensemble.from_factory("lenet5", 2, seed=0).eval()
    cpu = fgsm(ens, x, y, 8 / 255)
    ens_gpu = ens.to(CUDA)
    gpu = fgsm(ens_gpu, x.to(CUDA), y.to(CUDA), 8 / 255)
    assert gpu.device.type == "cuda"
    assert (gpu.cpu() - cpu).abs().gt(1e-5).float().mean() < 0.01  # a sign may flip where a gradient is ~0
    assert float((gpu.cpu() - x).abs().max()) <= 8 / 255 + 1e-6
    xg, yg = x.to(CUDA), y.to(CUDA)
    adv = pgd(ens_gpu, xg, yg, 8 / 255, steps=3, restarts=2, generator=torch.Generator().manual_seed(0))
    assert adv.device.type == "cuda" and float((adv.cpu() - x).abs().max()) <= 8 / 255 + 1e-6
    acc = whitebox_accuracy(ens_gpu, xg, yg, "pgd", 8 / 255, generator=torch.Generator().manual_seed(0))
    assert 0.0 <= acc <= 1.0
