"""Schedules: the closed forms the Trainer always used, torch's recursive scheduler classes, and exact resume with a
multistep + warmup schedule."""

import json
import math

import pytest
import torch
from torch.optim.lr_scheduler import ChainedScheduler, CosineAnnealingLR, LinearLR, MultiStepLR, StepLR

from coterie import Ensemble, Independent, Trainer
from coterie.config import ConfigError, load_config
from coterie.training.callbacks import Callback
from coterie.training.optim import schedule_factor
from coterie.training.schedules import build_scheduler, lr_factor

EPOCHS, BASE = 12, 0.3


def _lrs(scheduler_factory):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE)
    sched = scheduler_factory(opt)
    out = []
    for _ in range(EPOCHS):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


@pytest.mark.parametrize("name", ["constant", "cosine", "step"])
def test_existing_names_keep_their_closed_form_bit_for_bit(name):
    ours = _lrs(lambda o: build_scheduler(o, name, EPOCHS, step_size=4, gamma=0.5))
    assert ours == [BASE * schedule_factor(name, e, EPOCHS, 4, 0.5) for e in range(EPOCHS)]


def test_closed_forms_agree_with_torchs_recursive_classes():
    cases = {
        "cosine": ({}, lambda o: CosineAnnealingLR(o, T_max=EPOCHS)),
        "step": ({"step_size": 4, "gamma": 0.5}, lambda o: StepLR(o, 4, 0.5)),
        "multistep": ({"milestones": [3, 7], "gamma": 0.2}, lambda o: MultiStepLR(o, [3, 7], 0.2)),
    }
    for name, (kw, torch_cls) in cases.items():
        ours = _lrs(lambda o, name=name, kw=kw: build_scheduler(o, name, EPOCHS, **kw))
        assert ours == pytest.approx(_lrs(torch_cls), rel=1e-12, abs=1e-15), name
    w = 3  # warmup: LinearLR from 1/(W+1) over W epochs, chained (multiplied) with the main schedule
    ours = _lrs(lambda o: build_scheduler(o, "multistep", EPOCHS, milestones=[5, 9], gamma=0.1, warmup_epochs=w))
    ref = _lrs(lambda o: ChainedScheduler([LinearLR(o, 1 / (w + 1), total_iters=w), MultiStepLR(o, [5, 9], 0.1)]))
    assert ours == pytest.approx(ref, rel=1e-12)
    assert ours[:5] == pytest.approx([BASE * f for f in (0.25, 0.5, 0.75, 1, 1)])


def test_lr_factor_literals():
    assert lr_factor("multistep", 0, 10, milestones=[2, 5], gamma=0.1) == 1
    assert lr_factor("multistep", 2, 10, milestones=[2, 5], gamma=0.1) == pytest.approx(0.1)
    assert lr_factor("multistep", 9, 10, milestones=[2, 5], gamma=0.1) == pytest.approx(0.01)
    assert lr_factor("cosine", 5, 10, warmup_epochs=1) == pytest.approx(0.5 * (1 + math.cos(math.pi / 2)))
    assert lr_factor("cosine", 0, 10, warmup_epochs=1) == pytest.approx(0.5)


def test_bad_schedules_are_refused():
    with pytest.raises(ValueError, match="'multistep' needs milestones"):
        Trainer(_ens(), Independent(), schedule="multistep")
    with pytest.raises(ValueError, match="strictly increasing"):
        Trainer(_ens(), Independent(), schedule="multistep", milestones=(5, 3))
    with pytest.raises(ValueError, match="milestones apply to schedule 'multistep' only"):
        Trainer(_ens(), Independent(), schedule="cosine", milestones=(5,))
    with pytest.raises(ConfigError, match="schedule"):
        load_config({"schedule": {"name": "multistep"}})
    with pytest.raises(ConfigError, match="warmup_epochs"):
        load_config({"schedule": {"name": "cosine", "warmup_epochs": -1}})
    cfg = load_config({"schedule": {"name": "multistep", "milestones": [3, 6], "warmup_epochs": 2}})
    assert (cfg.schedule.milestones, cfg.schedule.warmup_epochs) == ([3, 6], 2)


def _data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(96, 8, generator=g)
    return (x, (x[:, 0] + x[:, 1] > 0).long())


def _ens():
    return Ensemble.from_factory("mlp", 2, seed=0, in_features=8, num_classes=2, hidden=(8,))


class _Kill(Callback):
    def on_epoch_end(self, trainer, epoch, record, val_logits):
        if epoch == 3:
            raise KeyboardInterrupt


def _trainer(run_dir, **kw):
    return Trainer(
        _ens(),
        Independent(),
        lr=0.2,
        epochs=6,
        batch_size=32,
        seed=2,
        schedule="multistep",
        milestones=(2, 4),
        gamma=0.5,
        warmup_epochs=2,
        run_dir=run_dir,
        progress=False,
        **kw,
    )


def test_interrupted_and_resumed_run_equals_uninterrupted_with_multistep_and_warmup(tmp_path):
    train = _data()
    full_tr = _trainer(tmp_path / "a")
    full = full_tr.fit(train, train)
    assert [r["lr"] for r in full] == [0.2 * f for f in (1 / 3, 2 / 3, 0.5, 0.5, 0.25, 0.25)]
    with pytest.raises(KeyboardInterrupt):
        _trainer(tmp_path / "b", callbacks=[_Kill()]).fit(train, train)
    index = json.loads((tmp_path / "b" / "checkpoints" / "last.json").read_text())
    assert index["epoch"] == 2 and index["scheduler"]["last_epoch"] == 3  # the scheduler is checkpointed
    res_tr = _trainer(tmp_path / "b")
    resumed = res_tr.fit(train, train)
    for a, b in zip(full, resumed):
        assert (a["lr"], a["train_loss"], a["val_member_acc"]) == (b["lr"], b["train_loss"], b["val_member_acc"])
    for p, q in zip(full_tr.ensemble.parameters(), res_tr.ensemble.parameters()):
        assert torch.equal(p, q)
