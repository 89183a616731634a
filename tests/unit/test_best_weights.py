"""best.safetensors / final.safetensors: the weights of the best-validation epoch and of the end, across resumes."""

import copy
from types import SimpleNamespace

import pytest
import torch

from coterie import CoLearning, Ensemble, Trainer
from coterie.config import ConfigError, load_config
from coterie.training.best_weights import (
    BEST,
    FINAL,
    BestWeights,
    WeightsFileError,
    load_weights,
    metric_mode,
    read_weights,
    save_weights,
)
from coterie.training.callbacks import Callback


def _data(n=240, d=10, c=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, d, generator=g)
    y = (x @ torch.randn(d, c, generator=g)).argmax(-1)
    flip = torch.rand(n, generator=g) < 0.3  # label noise: validation figures go up and down between epochs
    y[flip] = torch.randint(0, c, (int(flip.sum()),), generator=g)
    return (x[:160], y[:160]), (x[160:], y[160:])


def _ens():
    return Ensemble.from_factory("mlp", 3, seed=0, in_features=10, num_classes=3, hidden=(16,), executor="fused")


def _trainer(ens, run_dir, callbacks, epochs=6, **kw):
    return Trainer(
        ens,
        CoLearning(-0.3),
        lr=kw.pop("lr", 0.2),
        epochs=epochs,
        batch_size=16,
        seed=3,
        run_dir=run_dir,
        progress=False,
        callbacks=callbacks,
        **kw,
    )


class _Snapshots(Callback):
    """The ensemble's weights after every epoch (an independent record of what best.safetensors must hold)."""

    def __init__(self):
        self.states = {}

    def on_epoch_end(self, trainer, epoch, record, val_logits):
        self.states[epoch] = {k: v.detach().cpu().clone() for k, v in trainer.ensemble.state_dict().items()}


class KilledError(Exception):
    pass


class _KillAt(Callback):
    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, trainer, epoch, record, val_logits):
        if epoch == self.at:
            raise KilledError


def _equal_states(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("metric", ["val_ens_acc_mean", "val_nll"])
def test_best_file_holds_the_best_epoch(tmp_path, metric):
    train, val = _data()
    snaps, best = _Snapshots(), BestWeights(tmp_path, metric)
    hist = _trainer(_ens(), tmp_path, [snaps, best]).fit(train, val)
    values = [r[metric] for r in hist]
    want = values.index(min(values) if metric == "val_nll" else max(values))  # first of equal values wins
    assert best.summary() == {"metric": metric, "mode": metric_mode(metric), "epoch": want, "value": values[want]}
    tensors, meta = read_weights(tmp_path / BEST)
    assert meta["epoch"] == str(want) and meta["metric"] == metric
    assert _equal_states(tensors, snaps.states[want])
    final, _ = read_weights(tmp_path / FINAL)
    assert _equal_states(final, snaps.states[len(hist) - 1])


def test_best_survives_a_kill_and_resume(tmp_path):
    """Killed after best.safetensors may already hold the killed epoch: the resumed run ends with the same best
    epoch, value and bytes of weights as the uninterrupted one."""
    train, val = _data()
    ref = BestWeights(tmp_path / "a", "val_ens_acc_mean")
    _trainer(_ens(), tmp_path / "a", [ref]).fit(train, val)
    for kill_at in range(1, 6):
        d = tmp_path / f"b{kill_at}"
        with pytest.raises(KilledError):
            _trainer(_ens(), d, [BestWeights(d), _KillAt(kill_at)]).fit(train, val)
        resumed = BestWeights(d)
        _trainer(_ens(), d, [resumed]).fit(train, val)
        assert resumed.summary() == ref.summary(), kill_at
        for name in (BEST, FINAL):
            assert _equal_states(read_weights(d / name)[0], read_weights(tmp_path / "a" / name)[0]), (kill_at, name)


def test_a_best_file_ahead_of_the_checkpoint_is_rewritten_without_a_note(tmp_path):
    """checkpoint_every=4: a kill at epoch 5 leaves best.safetensors holding epoch 5 (a new best, lr 0.03 here: the
    validation accuracy is best at epoch 2 among 0-3, then again at 5) while the checkpoint holds epoch 3. The resumed
    run recomputes epochs 4-5 exactly and writes the file again: the uninterrupted run's summary and weights, and no
    note (it used to say the file 'did not hold epoch 2')."""
    train, val = _data()
    kw = {"checkpoint_every": 4, "lr": 0.03}
    ref = BestWeights(tmp_path / "a")
    _trainer(_ens(), tmp_path / "a", [ref], **kw).fit(train, val)
    assert ref.epoch == 5  # the case: a best epoch after the last checkpoint
    for kill_at in range(1, 6):
        d = tmp_path / f"b{kill_at}"
        with pytest.raises(KilledError):
            _trainer(_ens(), d, [BestWeights(d), _KillAt(kill_at)], **kw).fit(train, val)
        resumed = BestWeights(d)
        _trainer(_ens(), d, [resumed], **kw).fit(train, val)
        assert resumed.summary() == ref.summary(), kill_at
        assert _equal_states(read_weights(d / BEST)[0], read_weights(tmp_path / "a" / BEST)[0]), kill_at


def test_resume_after_the_last_epoch_and_lost_best_file(tmp_path):
    train, val = _data()
    first = BestWeights(tmp_path)
    _trainer(_ens(), tmp_path, [first]).fit(train, val)
    again = BestWeights(tmp_path)  # nothing left to train: the best epoch comes from the restored history
    _trainer(_ens(), tmp_path, [again]).fit(train, val)
    assert again.summary() == first.summary()
    if first.epoch != 5:  # a lost best file whose epoch cannot be restored: said so, best restarts from there
        (tmp_path / BEST).unlink()
        lost = BestWeights(tmp_path)
        _trainer(_ens(), tmp_path, [lost]).fit(train, val)
        assert lost.epoch == 5 and "did not hold epoch" in lost.summary()["note"]
        assert read_weights(tmp_path / BEST)[1]["epoch"] == "5"


def test_without_validation_best_is_final(tmp_path):
    train, _ = _data()
    cb = BestWeights(tmp_path)
    _trainer(_ens(), tmp_path, [cb], epochs=2).fit(train)
    assert cb.epoch == 1 and cb.value is None and "never logged" in cb.summary()["note"]
    assert _equal_states(read_weights(tmp_path / BEST)[0], read_weights(tmp_path / FINAL)[0])


def test_save_load_round_trip_and_errors(tmp_path):
    ens = _ens()
    save_weights(tmp_path / "w.safetensors", ens, {"epoch": 3})
    other = _ens()
    for p in other.parameters():
        torch.nn.init.zeros_(p)
    meta = load_weights(tmp_path / "w.safetensors", other)
    assert meta["epoch"] == "3" and _equal_states(other.state_dict(), ens.state_dict())
    with pytest.raises(WeightsFileError, match="does not exist"):
        load_weights(tmp_path / "nope.safetensors", other)
    small = Ensemble.from_factory("mlp", 3, seed=0, in_features=10, num_classes=3, hidden=(8,))
    with pytest.raises(WeightsFileError, match=r"w\.safetensors does not fit the Ensemble: shape mismatch"):
        load_weights(tmp_path / "w.safetensors", small)
    data = (tmp_path / "w.safetensors").read_bytes()
    for i, damaged in enumerate([data[: len(data) // 2], data[:5], b"\x00" * 64, b"not a safetensors file"]):
        bad = tmp_path / f"bad{i}.safetensors"
        bad.write_bytes(damaged)
        with pytest.raises(WeightsFileError, match=rf"bad{i}\.safetensors is truncated or corrupted"):
            load_weights(bad, copy.deepcopy(ens))


def test_metric_mode_and_config_validation():
    assert [metric_mode(m) for m in ("val_nll", "val_ece", "val_brier", "val_member_nll_mean")] == ["min"] * 4
    assert [metric_mode(m) for m in ("val_ens_acc_mean", "val_member_acc_mean", "val_mean_js")] == ["max"] * 3
    assert load_config({"experiment": "train"}).best_metric == "val_ens_acc_mean"
    with pytest.raises(ConfigError, match=r"best_metric.*unknown best_metric 'val_acc'"):
        load_config({"experiment": "train", "best_metric": "val_acc"})


@pytest.mark.parametrize(
    ("metric", "values", "want"),
    [
        ("val_nll", [float("nan"), 2.0, 1.0, float("nan")], 2),
        ("val_ens_acc_mean", [float("nan"), 0.5, float("nan"), 0.4], 1),
    ],
)
def test_a_nan_epoch_is_never_kept_over_a_number(tmp_path, metric, values, want):
    ens = _ens()
    trainer = SimpleNamespace(ensemble=ens, history=[])
    best = BestWeights(tmp_path, metric)
    for epoch, v in enumerate(values):
        best.on_epoch_end(trainer, epoch, {metric: v}, None)
    assert best.epoch == want and best.value == values[want]
    assert read_weights(tmp_path / BEST)[1]["epoch"] == str(want)
