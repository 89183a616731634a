"""The Trainer's Dataset path serves the indexed (tensor) path's batches exactly, whichever way it loads them: in
process, through worker processes and shared-memory slots, through a Dataset's own batched ``__getitems__``, or
through the default_collate fallback for items that do not fit the slots."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

from coterie import Ensemble, Independent, Trainer
from coterie.training.data_source import BatchPlan, DatasetSource, LoaderSource, as_source


class Items(Dataset):
    """(x_i, label_i) per index; ``label`` converts the stored label (int, float, numpy scalar, tensor)."""

    def __init__(self, x, y, label=int):
        self.x, self.y, self.label = x, y, label

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.label(self.y[i])


class BatchedOnly(Dataset):
    """Serves batches through ``__getitems__`` only; ``__getitem__`` answers index 0 (the shape probe) and nothing
    else, so a batch fetched item by item fails."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        if i != 0:
            raise AssertionError("fetched item by item")
        return self.x[0], int(self.y[0])

    def __getitems__(self, indices):
        idx = torch.tensor(indices)
        return list(zip(self.x[idx], self.y[idx].tolist()))


def _same(v):
    return v


def _xy(n=150, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, 3, 4, 4, generator=g), torch.randint(0, 5, (n,), generator=g)


def _epochs(source, plan, epochs=2):
    """Every batch of ``epochs`` epochs, all kept: a batch that aliased a reused slot would change under the test."""
    return [list(source.train_batches(e, plan)) for e in range(epochs)]


def _assert_same(got, ref):
    assert [len(e) for e in got] == [len(e) for e in ref]
    for eg, er in zip(got, ref):
        for (xg, yg), (xr, yr) in zip(eg, er):
            assert xg.dtype == xr.dtype and yg.dtype == yr.dtype
            assert torch.equal(xg, xr) and torch.equal(yg, yr)


PLANS = [
    BatchPlan(seed=3, batch_size=32),
    BatchPlan(seed=3, batch_size=32, order="per_member", members=3),
    BatchPlan(seed=5, batch_size=40, bootstrap=True),
    BatchPlan(seed=5, batch_size=16, order="per_member", bootstrap=True, members=2, max_steps=4),
]


@pytest.mark.parametrize("plan", PLANS, ids=["shared", "per_member", "bootstrap", "per_member_bootstrap_capped"])
def test_every_loading_path_serves_the_tensor_paths_batches(plan):
    x, y = _xy()
    ref = _epochs(as_source((x, y)), plan)
    for workers in (0, 1, 2):
        _assert_same(_epochs(as_source(Items(x, y), workers=workers), plan), ref)
    _assert_same(_epochs(as_source(BatchedOnly(x, y), workers=1), plan), ref)
    _assert_same(_epochs(as_source(BatchedOnly(x, y), workers=0), plan), ref)


def test_items_that_do_not_fit_the_slots_come_back_collated_as_in_process():
    """numpy labels and float labels (float64 under default_collate), numpy inputs: same batches either way."""
    x, y = _xy(90)
    plan = BatchPlan(seed=1, batch_size=32)
    for ds in (Items(x, y, label=np.int64), Items(x, y, label=float), Items(x.numpy(), y)):
        in_process = _epochs(DatasetSource(ds, workers=0), plan)
        _assert_same(_epochs(DatasetSource(ds, workers=1), plan), in_process)
    assert in_process[0][0][1].dtype == torch.int64


def test_regression_targets_and_worker_batches_are_plain_cpu_tensors():
    g = torch.Generator().manual_seed(2)
    x, t = torch.rand(70, 6, generator=g), torch.rand(70, 2, generator=g)
    plan = BatchPlan(seed=0, batch_size=16)
    got = _epochs(DatasetSource(Items(x, t, label=_same), workers=1), plan, epochs=1)
    _assert_same(got, _epochs(as_source((x, t)), plan, epochs=1))
    assert not got[0][0][0].is_pinned()  # pinned memory only for CUDA (the Trainer passes pin_memory on CUDA only)


def test_a_users_dataloader_passes_through_untouched():
    x, y = _xy(64)
    loader = DataLoader(TensorDataset(x, y), batch_size=16)
    source = as_source(loader, workers=2, pin_memory=False)
    assert isinstance(source, LoaderSource) and source.batches is loader
    got = list(source.train_batches(0, BatchPlan(seed=0, batch_size=999)))
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, loader))


def test_trainer_per_member_order_is_the_same_with_loader_workers():
    x, y = _xy(96)
    xf = x.flatten(1)

    def fit(data, workers):
        ens = Ensemble.from_factory("mlp", 2, seed=0, in_features=48, num_classes=5, hidden=(8,))
        kw = {"lr": 0.1, "epochs": 2, "batch_size": 32, "seed": 4, "progress": False, "data_order": "per_member"}
        Trainer(ens, Independent(), loader_workers=workers, **kw).fit(data)
        return [p.detach().clone() for p in ens.parameters()]

    ref = fit((xf, y), 0)
    for got in (fit(Items(xf, y), 1), fit(Items(xf, y), 0)):
        assert all(torch.equal(p, q) for p, q in zip(ref, got))
