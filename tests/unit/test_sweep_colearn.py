"""A ``colearn`` run whose loss becomes non-finite is recorded as diverged and evaluated at its last finite state —
never at the blown-up weights in memory when training stopped, and with validation and test figures taken from the
same state."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from coterie.config import validate_config
from coterie.experiments.runner import run_config
from coterie.experiments.sweep_colearn import LastFiniteState
from coterie.metrics import ensemble_summary
from coterie.objectives import base
from coterie.objectives.colearning import CoLearning


class _BlowUpAt(CoLearning):
    """Co-learning that, at training step ``at`` (counted over the run), fills every parameter with NaN — the
    state a run under strong negative coupling ends in — so that the loss of that step is non-finite."""

    def __init__(self, at: int = 0, beta: float = -0.5, normalize: bool = True) -> None:
        super().__init__(beta=beta, normalize=normalize)
        self.at, self.calls = at, 0

    def __call__(self, ensemble, x, y):
        if self.calls == self.at:
            with torch.no_grad():
                for p in ensemble.parameters():
                    p.fill_(float("nan"))
        self.calls += 1
        return super().__call__(ensemble, x, y)


@pytest.fixture
def blow_up():
    with base.OBJECTIVES.override("test_blow_up", _BlowUpAt):
        yield


def _cfg(at: int) -> dict:
    # digits: 1797 samples, 60 % train → 1078 → 9 batches of 128 per epoch
    return {
        "experiment": "colearn",
        "name": "div",
        "seed": 0,
        "data": {"name": "digits", "val_fraction": 0.2, "test_fraction": 0.2},
        "model": {"name": "mlp", "kwargs": {"hidden": [16]}},
        "ensemble": {"size": 3},
        "objective": {"name": "test_blow_up", "params": {"at": at}},
        "optimizer": {"name": "sgd", "lr": 0.05},
        "epochs": 4,
        "batch_size": 128,
        "checkpoint_every": 100,
        "analysis": {"trajectory_every": 1, "trajectory_samples": 16, "activity_samples": 32},
    }


def _check_evaluated_state(out, res):
    assert res["diverged"] is True
    for layer, std in res["analysis"]["test"]["weight_std"].items():
        assert np.isfinite(std) and std < 10, (layer, std)
    pred = np.load(out / "predictions.npz")
    assert np.isfinite(pred["test_logits"]).all() and np.isfinite(pred["val_logits"]).all()
    val = ensemble_summary(torch.from_numpy(pred["val_logits"]), torch.from_numpy(pred["val_y"]))
    assert res["val"]["ens_acc_mean"] == pytest.approx(val["ens_acc_mean"])
    test = ensemble_summary(torch.from_numpy(pred["test_logits"]), torch.from_numpy(pred["test_y"]))
    assert res["test"]["ens_acc_mean"] == pytest.approx(test["ens_acc_mean"])


def test_diverged_run_is_evaluated_at_the_last_finite_epoch(tmp_path, blow_up):
    out = tmp_path / "run"
    res = run_config(validate_config(_cfg(at=9 * 2 + 3)), out)  # step 3 of epoch 2, no checkpoint on disk
    assert (res["diverged_at_epoch"], res["evaluated_epoch"]) == (2, 1)
    _check_evaluated_state(out, res)
    history = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in history] == [0, 1]
    # the evaluated state is the end of epoch 1: its validation figures are the ones logged then
    assert res["val"]["ens_acc_mean"] == pytest.approx(history[-1]["val_ens_acc_mean"])


def test_run_diverging_in_its_first_epoch_is_evaluated_at_initialisation(tmp_path, blow_up):
    out = tmp_path / "run"
    res = run_config(validate_config(_cfg(at=2)), out)
    assert (res["diverged_at_epoch"], res["evaluated_epoch"]) == (0, -1)
    _check_evaluated_state(out, res)


def test_last_finite_state_skips_non_finite_epochs():
    class _T:
        ensemble = torch.nn.Linear(3, 2)

    t = _T()
    keep = LastFiniteState(t.ensemble)
    assert keep.epoch == -1
    keep.on_epoch_end(t, 0, {}, torch.zeros(1, 4, 2))
    assert keep.epoch == 0
    good = {k: v.clone() for k, v in keep.state.items()}
    with torch.no_grad():
        t.ensemble.weight[0, 0] = float("inf")
    keep.on_epoch_end(t, 1, {}, torch.zeros(1, 4, 2))
    with torch.no_grad():
        t.ensemble.weight.fill_(1.0)
    keep.on_epoch_end(t, 2, {}, torch.full((1, 4, 2), float("nan")))
    assert keep.epoch == 0
    for k, v in good.items():
        torch.testing.assert_close(keep.state[k], v)
