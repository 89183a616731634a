"""The along-training recorder (seed 000 Fig 2b, 4b, 6a): what it logs per epoch equals the analyses recomputed from
the members' validation logits, and the saved logit snapshots round-trip through load_trajectory."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest
import torch

from coterie.analysis import (
    TrajectoryRecorder,
    js_matrix_with_ensemble,
    layer_activity,
    load_trajectory,
    member_kl_to_target,
)
from coterie.data import TensorData
from coterie.ensemble import Ensemble
from coterie.objectives import CoLearning
from coterie.training import Trainer
from coterie.training.callbacks import ValidationLogitsRecorder
from coterie.utils.errors import InputError


def _data(m: int, seed: int) -> TensorData:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(m, 8, generator=g)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()  # 3 classes
    return TensorData(x, y, 3)


def _fit(
    out: Path | None, epochs: int = 3, logits_every: int = 1
) -> tuple[Trainer, TrajectoryRecorder, ValidationLogitsRecorder, TensorData]:
    train, val = _data(96, 0), _data(40, 1)
    ens = Ensemble.from_factory("mlp", 3, in_features=8, num_classes=3, hidden=[12], seed=0)
    rec = TrajectoryRecorder(val.x, val.y, out, logits_every=logits_every, logits_samples=16, activity_samples=24)
    ref = ValidationLogitsRecorder()
    tr = Trainer(
        ens,
        CoLearning(-0.5, normalize=True),
        lr=0.1,
        epochs=epochs,
        batch_size=32,
        run_dir=out,
        callbacks=[rec, ref],
        progress=False,
    )
    tr.fit(train, val)
    return tr, rec, ref, val


def test_records_equal_recomputed_analyses(tmp_path: Path) -> None:
    tr, rec, ref, val = _fit(tmp_path)
    assert len(tr.history) == 3 and len(ref.logits) == 3
    for record, logits in zip(tr.history, ref.logits):
        np.testing.assert_allclose(record["val_member_kl"], member_kl_to_target(logits, val.y).numpy(), rtol=1e-6)
        d = np.array(record["val_js_matrix"])
        assert d.shape == (4, 4)
        np.testing.assert_allclose(d, js_matrix_with_ensemble(logits).numpy(), rtol=1e-6, atol=1e-9)
        assert set(record["val_inactive_fraction"]) == {"act1"}
        assert len(record["val_inactive_fraction"]["act1"]) == 3
        assert all(0.0 <= v <= 1.0 for v in record["val_inactive_fraction"]["act1"])
    # the last epoch's activity figures: layer_activity on the fixed activity subset of the trained members
    act = layer_activity(tr.ensemble, val.x[rec.activity_idx])
    np.testing.assert_allclose(tr.history[-1]["val_inactive_fraction"]["act1"], act["act1"]["inactive_fraction"])
    np.testing.assert_allclose(tr.history[-1]["val_mean_activation"]["act1"], act["act1"]["mean_activation"], rtol=1e-6)
    # what was logged to metrics.jsonl is the same record
    logged = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["val_js_matrix"] for r in logged] == [r["val_js_matrix"] for r in tr.history]


def test_snapshots_round_trip(tmp_path: Path) -> None:
    _, rec, ref, val = _fit(tmp_path, epochs=5, logits_every=2)
    loaded = load_trajectory(tmp_path)
    assert loaded is not None
    epochs, logits, labels = loaded
    assert epochs.tolist() == [0, 2, 4]
    assert logits.shape == (3, 3, 16, 3) and logits.dtype == np.float32
    sub = rec.subset
    assert len(sub) == 16 and bool((sub[1:] > sub[:-1]).all())  # a sorted subset without repeats
    np.testing.assert_array_equal(labels, val.y[sub].numpy())
    for k, e in enumerate(epochs):
        np.testing.assert_allclose(logits[k], ref.logits[e][:, sub].numpy(), rtol=1e-3, atol=1e-3)  # float16


def test_in_memory_mode_and_no_trajectory(tmp_path: Path) -> None:
    _, rec, ref, _ = _fit(None, epochs=2)
    assert sorted(rec.logits) == [0, 1]
    assert rec.logits[1].dtype == torch.float16
    torch.testing.assert_close(rec.logits[1].float(), ref.logits[1][:, rec.subset], rtol=1e-3, atol=1e-3)
    assert load_trajectory(tmp_path) is None


def test_subset_is_capped_by_the_validation_size() -> None:
    val = _data(10, 0)
    rec = TrajectoryRecorder(val.x, val.y, None, logits_samples=256, activity_samples=512, seed=3)
    assert rec.subset.tolist() == list(range(10)) and rec.activity_idx.tolist() == list(range(10))
    # the subset is a seeded choice: the same seed picks the same samples
    a = TrajectoryRecorder(val.x, val.y, None, logits_samples=4, seed=1).subset
    assert a.tolist() == TrajectoryRecorder(val.x, val.y, None, logits_samples=4, seed=1).subset.tolist()
    assert len(set(a.tolist())) == 4


def test_activity_samples_below_one_is_refused() -> None:
    val = _data(10, 0)
    with pytest.raises(InputError, match="activity_samples must be at least 1, got 0"):
        TrajectoryRecorder(val.x, val.y, None, activity_samples=0)


def _fit_members(ens: Ensemble, epochs: int = 2) -> Trainer:
    train, val = _data(48, 0), _data(20, 1)
    rec = TrajectoryRecorder(val.x, val.y, None, logits_samples=8, activity_samples=8)
    tr = Trainer(ens, CoLearning(0.0), lr=0.1, epochs=epochs, batch_size=16, callbacks=[rec], progress=False)
    tr.fit(train, val)
    return tr


def test_an_activity_error_propagates() -> None:
    # a member naming a layer it does not have: layer_activity's KeyError must stop training, not record {}
    ens = Ensemble.from_factory("mlp", 2, in_features=8, num_classes=3, hidden=[6], seed=0)
    ens.members[0].feature_layers = _no_such_layer  # type: ignore[method-assign]
    with pytest.raises(KeyError, match="nope"):
        _fit_members(ens)


def _no_such_layer(kind: str = "all") -> list[str]:
    return ["nope"]


def test_members_without_activation_layers_omit_activity_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    ens = Ensemble.from_factory("mlp", 2, in_features=8, num_classes=3, hidden=[], seed=0)  # linear: no activations
    with caplog.at_level(logging.WARNING, logger="coterie.analysis.trajectory"):
        tr = _fit_members(ens, epochs=3)
    warned = [r.getMessage() for r in caplog.records if "activity is not recorded" in r.getMessage()]
    assert warned == ["activity is not recorded: member MLP has no activation layers"]  # decided once, not per epoch
    assert len(tr.history) == 3
    for record in tr.history:
        assert "val_inactive_fraction" not in record and "val_mean_activation" not in record
        assert len(record["val_member_kl"]) == 2  # the other records are still there
