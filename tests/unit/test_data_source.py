"""Trainer.fit on tensors, TensorData, Datasets and DataLoaders; validation on the same kinds; bad input fails
before the first step; the augmentation hook touches training batches only."""

import logging

import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from coterie import Ensemble, Independent, Trainer
from coterie.data import TensorData
from coterie.training.batch_order import epoch_generator
from coterie.training.callbacks import Callback, ValidationLogitsRecorder


def _data(n=160, d=10, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x @ torch.randn(d, c, generator=g)).argmax(-1)
    return (x[:120], y[:120]), (x[120:], y[120:])


def _ens(n=2):
    return Ensemble.from_factory("mlp", n, seed=0, in_features=10, num_classes=3, hidden=(8,))


def _fit(train, val=None, ens=None, **kw):
    ens = ens or _ens()
    kw = {"lr": 0.1, "epochs": 2, "batch_size": 32, "seed": 1, "progress": False, **kw}
    hist = Trainer(ens, Independent(), **kw).fit(train, val)
    return hist, [p.detach().clone() for p in ens.parameters()]


class PairDataset(Dataset):
    """A plain map-style Dataset: (tensor, int) items, no targets attribute."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], int(self.y[i])


def _same(a, b):
    (ha, wa), (hb, wb) = a, b
    assert [r["train_loss"] for r in ha] == [r["train_loss"] for r in hb]
    assert all(torch.equal(p, q) for p, q in zip(wa, wb))


def test_tensordata_and_datasets_follow_the_tensor_paths_order_exactly():
    (x, y), val = _data()
    ref = _fit((x, y), val)
    _same(ref, _fit(TensorData(x, y, 3), val))
    _same(ref, _fit(TensorDataset(x, y), val))
    _same(ref, _fit(PairDataset(x, y), val))
    _same(ref, _fit(PairDataset(x, y), val, loader_workers=1))


def test_dataloader_and_list_of_batches_train_in_their_own_order():
    (x, y), val = _data()
    batches = [(x[i : i + 32], y[i : i + 32]) for i in range(0, 120, 32)]
    from_list = _fit(batches, val)
    from_loader = _fit(DataLoader(TensorDataset(x, y), batch_size=32, shuffle=False), val)
    _same(from_list, from_loader)
    assert from_list[0][-1]["val_ens_acc_mean"] > 0.4  # it trains


def test_validation_accepts_every_kind_with_the_same_metrics():
    train, (xv, yv) = _data()
    ref, _ = _fit(train, (xv, yv))
    for val in (TensorDataset(xv, yv), PairDataset(xv, yv), DataLoader(TensorDataset(xv, yv), batch_size=7)):
        hist, _ = _fit(train, val)
        assert hist[-1]["val_member_acc"] == ref[-1]["val_member_acc"]
        assert hist[-1]["val_nll"] == pytest.approx(ref[-1]["val_nll"], rel=1e-6)


def test_evaluate_accepts_a_dataloader():
    train, (xv, yv) = _data()
    tr = Trainer(_ens(), Independent(), epochs=1, progress=False)
    tr.fit(train)
    a = tr.evaluate((xv, yv))
    b = tr.evaluate(DataLoader(TensorDataset(xv, yv), batch_size=9))
    assert a["ens_acc_mean"] == b["ens_acc_mean"]


class _KillAt(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, trainer, epoch, record, val_logits):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_dataset_resume_is_exact(tmp_path):
    (x, y), val = _data()
    full, wf = _fit(PairDataset(x, y), val, epochs=4, run_dir=tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        _fit(PairDataset(x, y), val, epochs=4, run_dir=tmp_path / "b", callbacks=[_KillAt(2)])
    resumed, wr = _fit(PairDataset(x, y), val, epochs=4, run_dir=tmp_path / "b")
    _same((full, wf), (resumed, wr))


def test_dataloader_resume_restarts_at_the_epoch_boundary_and_says_so(tmp_path, caplog):
    (x, y), _ = _data()
    loader = DataLoader(TensorDataset(x, y), batch_size=32)
    with pytest.raises(KeyboardInterrupt):
        _fit(loader, epochs=3, run_dir=tmp_path, callbacks=[_KillAt(1)])
    with caplog.at_level(logging.WARNING, logger="coterie.training.trainer"):
        hist, _ = _fit(loader, epochs=3, run_dir=tmp_path)
    assert [r["epoch"] for r in hist] == [0, 1, 2]
    assert "restarts at the boundary of epoch 1" in caplog.text


class NotPairs(Dataset):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.zeros(10)


def test_bad_input_fails_before_training_with_a_clear_message():
    (x, y), _ = _data()
    with pytest.raises(TypeError, match=r"items of NotPairs must be an \(x, y\) pair, got a Tensor"):
        _fit(NotPairs())
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\).*from 0 to 5"):
        _fit((x, torch.where(y == 2, 5, y)))
    with pytest.raises(ValueError, match=r"training labels must lie in \[0, 3\).*from -1"):
        _fit(TensorDataset(x, y - 1))
    with pytest.raises(ValueError, match=r"validation labels must lie in \[0, 3\)"):
        _fit((x, y), (x, y + 3))
    with pytest.raises(ValueError, match=r"inputs of shape \(12,\) \(per sample\) do not fit the ensemble's members"):
        _fit((torch.randn(20, 12), torch.zeros(20, dtype=torch.long)))
    with pytest.raises(ValueError, match="validation inputs have shape"):
        _fit((x, y), (torch.randn(5, 4), torch.zeros(5, dtype=torch.long)))
    with pytest.raises(TypeError, match="can be iterated only once"):
        _fit((x[i : i + 8], y[i : i + 8]) for i in range(0, 120, 8))
    with pytest.raises(TypeError, match="data must be"):
        _fit(3)


def test_labels_of_a_plain_dataset_are_checked_batch_by_batch():
    (x, y), _ = _data()
    ens = _ens()
    before = [p.detach().clone() for p in ens.parameters()]
    with pytest.raises(ValueError, match=r"training labels must lie in \[0, 3\)"):
        _fit(PairDataset(x, y + 3), ens=ens)
    assert all(torch.equal(a, b) for a, b in zip(before, ens.parameters()))  # no step was taken


class _Recorder:
    """An augmentation that records its calls and adds noise drawn from the generator it is given."""

    def __init__(self):
        self.calls = []

    def __call__(self, x, generator):
        self.calls.append((tuple(x.shape), generator))
        return x + 0.01 * torch.randn(x.shape, generator=generator)


def test_augment_touches_training_batches_only_with_the_epoch_generator():
    train, (xv, yv) = _data()
    aug = _Recorder()
    rec = ValidationLogitsRecorder()
    ens = _ens()
    kw = {"lr": 0.1, "epochs": 2, "batch_size": 32, "seed": 1, "progress": False}
    tr = Trainer(ens, Independent(), augment=aug, callbacks=[rec], **kw)
    hist = tr.fit(train, (xv, yv))
    assert [s for s, _ in aug.calls] == [(32, 10), (32, 10), (32, 10), (24, 10)] * 2  # 4 training batches per epoch
    g0, g1 = aug.calls[0][1], aug.calls[4][1]
    assert g0 is aug.calls[3][1] and g0 is not g1  # one generator per epoch
    ref = epoch_generator(1, 1, stream=2)
    for b in (32, 32, 32, 24):
        torch.randn((b, 10), generator=ref)
    assert torch.equal(torch.randn(3, generator=ref), torch.randn(3, generator=g1))  # it was epoch 1's stream 2
    n_calls = len(aug.calls)
    assert torch.equal(rec.logits[-1], tr.predict(xv))  # validation saw the raw inputs
    tr.evaluate((xv, yv))
    assert len(aug.calls) == n_calls  # neither prediction nor evaluation augments
    plain, _ = _fit(train, (xv, yv))
    assert hist[0]["train_loss"] != plain[0]["train_loss"]  # the augmented batches were the ones trained on
