"""data_order shared | per_member and bootstrap: the batches each member sees, checked against orders written out
literally, and per-member training checked against independent single-member runs."""

import copy

import pytest
import torch

from coterie import Ensemble, Independent, Trainer, objectives
from coterie.config import ConfigError, load_config
from coterie.objectives.base import ObjectiveOutput

N_SAMPLES, SEED = 50, 4


def _literal_generator(seed, epoch, stream):
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 7919 + stream)


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_SAMPLES, 6, generator=g)
    return x, (x[:, 0] > 0).long()


def _ens(n=3):
    return Ensemble.from_factory("mlp", n, seed=0, in_features=6, num_classes=2, hidden=(5,))


class Recording(Independent):
    """Independent, recording the sample index behind every row of every batch (x[:, 0] identifies a sample)."""

    def __init__(self, x):
        self.key = x[:, 0]
        self.batches = []

    def _ids(self, xb):
        return (xb[..., 0].unsqueeze(-1) == self.key).float().argmax(-1)

    def __call__(self, ensemble, x, y):
        self.batches.append(self._ids(x))
        return super().__call__(ensemble, x, y)

    def per_member(self, ensemble, x, y):
        self.batches.append(self._ids(x))
        return super().per_member(ensemble, x, y)


def _record(epochs=2, **kw):
    x, y = _data()
    obj = Recording(x)
    Trainer(_ens(), obj, epochs=epochs, batch_size=16, seed=SEED, progress=False, **kw).fit((x, y))
    return obj.batches


def test_shared_order_is_the_stream_0_permutation_for_every_member():
    batches = _record()
    for epoch in range(2):
        order = torch.randperm(N_SAMPLES, generator=_literal_generator(SEED, epoch, 0))
        assert torch.equal(torch.cat(batches[4 * epoch : 4 * epoch + 4]), order)


def test_per_member_orders_are_each_members_own_stream():
    batches = _record(data_order="per_member")
    assert batches[0].shape == (3, 16)
    for epoch in range(2):
        seen = torch.cat(batches[4 * epoch : 4 * epoch + 4], dim=1)
        for i in range(3):
            ref = torch.randperm(N_SAMPLES, generator=_literal_generator(SEED, epoch, 1000 + i))
            assert torch.equal(seen[i], ref)
        assert not torch.equal(seen[0], seen[1])


def test_bootstrap_draws_with_replacement_shared_or_per_member():
    shared = torch.cat(_record(epochs=1, bootstrap=True))
    ref = torch.randint(N_SAMPLES, (N_SAMPLES,), generator=_literal_generator(SEED, 0, 0))
    assert torch.equal(shared, ref)
    assert len(set(ref.tolist())) < N_SAMPLES  # with replacement: some samples repeat, some are left out
    per = torch.cat(_record(epochs=1, bootstrap=True, data_order="per_member"), dim=1)
    for i in range(3):
        g = _literal_generator(SEED, 0, 1000 + i)
        assert torch.equal(per[i], torch.randint(N_SAMPLES, (N_SAMPLES,), generator=g))


class MemberOrder:
    """A re-iterable serving member i's per-member order, epoch after epoch, written out independently."""

    def __init__(self, x, y, member, bootstrap):
        self.x, self.y, self.member, self.bootstrap, self.epoch = x, y, member, bootstrap, 0

    def __iter__(self):
        g = _literal_generator(SEED, self.epoch, 1000 + self.member)
        if self.bootstrap:
            order = torch.randint(N_SAMPLES, (N_SAMPLES,), generator=g)
        else:
            order = torch.randperm(N_SAMPLES, generator=g)
        self.epoch += 1
        return iter([(self.x[order[s : s + 16]], self.y[order[s : s + 16]]) for s in range(0, N_SAMPLES, 16)])


@pytest.mark.parametrize("bootstrap", [False, True])
def test_per_member_training_equals_single_member_runs(bootstrap):
    x, y = _data()
    ens = _ens()
    singles = [Ensemble([copy.deepcopy(m)]) for m in ens.members]
    kw = {"lr": 0.2, "epochs": 3, "batch_size": 16, "seed": SEED, "progress": False, "weight_decay": 1e-3}
    Trainer(ens, Independent(), data_order="per_member", bootstrap=bootstrap, **kw).fit((x, y))
    for i, single in enumerate(singles):
        order = MemberOrder(x, y, i, bootstrap)
        Trainer(single, Independent(), **kw).fit(order)
        for p, q in zip(ens.members[i].parameters(), single.members[0].parameters()):
            assert torch.equal(p, q)


@pytest.mark.parametrize("name", [n for n in objectives.names() if n != "independent"])
def test_objectives_that_couple_members_refuse_per_member(name):
    params = {"colearning": {"beta": -0.5}}.get(name, {})
    obj = objectives.create(name, **params)
    with pytest.raises(ValueError, match=rf"objective '{name}' couples the members .* needs data_order='shared'"):
        Trainer(_ens(), obj, data_order="per_member")
    Trainer(_ens(), obj, bootstrap=True)  # a shared resample is fine for every objective


def test_per_member_needs_an_order_the_trainer_draws():
    x, y = _data()
    batches = [(x[:16], y[:16]), (x[16:], y[16:])]
    with pytest.raises(ValueError, match="needs tensors or a map-style Dataset"):
        Trainer(_ens(), Independent(), data_order="per_member", progress=False).fit(batches)
    with pytest.raises(ValueError, match="unknown data_order 'mixed'"):
        Trainer(_ens(), Independent(), data_order="mixed")


def test_config_keys():
    cfg = load_config({"data_order": "per_member", "bootstrap": True, "amp": "bf16"})
    assert (cfg.data_order, cfg.bootstrap, cfg.amp) == ("per_member", True, "bf16")
    assert (load_config({}).data_order, load_config({}).bootstrap, load_config({}).amp) == ("shared", False, "off")
    with pytest.raises(ConfigError, match="data_order"):
        load_config({"data_order": "each"})


def test_independent_per_member_losses_are_each_members_cross_entropy():
    x, y = _data()
    xs, ys = torch.stack([x[:8], x[8:16], x[16:24]]), torch.stack([y[:8], y[8:16], y[16:24]])
    out = Independent().per_member(_ens(), xs, ys)
    assert isinstance(out, ObjectiveOutput) and out.losses.shape == (3,) and out.logits.shape == (3, 8, 2)
    for i in range(3):
        ref = torch.nn.functional.cross_entropy(_ens().members[i](x[8 * i : 8 * i + 8]), y[8 * i : 8 * i + 8])
        assert out.losses[i].item() == pytest.approx(ref.item(), rel=1e-6)
