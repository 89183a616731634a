"""``experiment: colearn`` end to end on a tiny MNIST-1D run: every promised file, and every figure in results.json
recomputed independently from the saved predictions, checkpoints and the rebuilt data split."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml

from coterie.analysis import agreement_summary, load_trajectory
from coterie.config import load_config
from coterie.experiments.build import build_ensemble, build_splits
from coterie.experiments.runner import run_config
from coterie.experiments.sweep_colearn import ColearnConfig, coupling_of
from coterie.metrics import ensemble_summary
from coterie.report.rundata import load_run
from coterie.training import checkpoint as ckpt

N, EPOCHS = 3, 2


def tiny(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "experiment": "colearn",
        "name": "colearn-tiny",
        "seed": 0,
        "data": {"name": "mnist1d", "num_samples": 300, "val_fraction": 0.2, "test_fraction": 0.2},
        "model": {"name": "mlp", "kwargs": {"hidden": [16, 16]}},
        "ensemble": {"size": N},
        "objective": {"name": "colearning", "params": {"beta": -0.6, "normalize": True}},
        "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
        "epochs": EPOCHS,
        "batch_size": 64,
        "analysis": {"trajectory_every": 1, "trajectory_samples": 32, "activity_samples": 32},
    }
    for k, v in changes.items():
        raw[k] = {**raw[k], **v} if isinstance(v, dict) and isinstance(raw.get(k), dict) else v
    return raw


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("colearn") / "run"
    return out, run_config(load_config(tiny()), out)


def test_files_and_records(run: tuple[Path, dict[str, Any]]) -> None:
    out, res = run
    for f in ("config.yaml", "metrics.jsonl", "results.json", "learning_curves.png", "predictions.npz"):
        assert (out / f).exists(), f
    assert json.loads((out / "results.json").read_text()) == json.loads(json.dumps(res))
    assert yaml.safe_load((out / "config.yaml").read_text())["experiment"] == "colearn"
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(EPOCHS))
    for r in records:
        d = np.array(r["val_js_matrix"])
        assert d.shape == (N + 1, N + 1)  # networks and the ensemble
        np.testing.assert_allclose(d, d.T)
        assert (d >= 0).all() and (d <= math.log(2) + 1e-6).all()
        assert len(r["val_member_kl"]) == N
        assert set(r["val_inactive_fraction"]) == {"act1", "act2"}
    traj = load_trajectory(out)
    assert traj is not None
    epochs, logits, labels = traj
    assert epochs.tolist() == list(range(EPOCHS)) and logits.shape == (EPOCHS, N, 32, 10) and labels.shape == (32,)
    assert res["experiment"] == "colearn" and res["n_members"] == N and res["epochs"] == EPOCHS
    assert res["diverged"] is False and res["evaluated_epoch"] == EPOCHS - 1 and res["diverged_at_epoch"] is None


def test_coupling_is_normalised_by_n(run: tuple[Path, dict[str, Any]]) -> None:
    _, res = run
    assert res["beta_bar"] == -0.6 and res["beta"] == pytest.approx(-0.6 / N)
    unnorm = load_config(tiny(objective={"name": "colearning", "params": {"beta": -0.2}}))
    assert isinstance(unnorm, ColearnConfig)
    assert coupling_of(unnorm) == (pytest.approx(-0.2 * N), -0.2)
    assert coupling_of(load_config(tiny(objective={"name": "independent", "params": {}}))) == (0.0, 0.0)
    matrix = tiny(objective={"name": "colearning", "params": {"beta": [[0, -1, 0], [-1, 0, 0], [0, 0, 0]]}})
    assert coupling_of(load_config(matrix)) == (None, None)


def test_saved_predictions_are_the_held_out_splits_and_reproduce_the_figures(run: tuple[Path, dict[str, Any]]) -> None:
    out, res = run
    cfg = load_config(tiny())
    splits = build_splits(cfg.data, cfg.seed)
    with np.load(out / "predictions.npz") as z:
        pred = {k: z[k] for k in z.files}
    np.testing.assert_array_equal(pred["test_y"], splits.test.y.numpy())
    np.testing.assert_array_equal(pred["val_y"], splits.val.y.numpy())
    assert pred["test_logits"].shape == (N, len(splits.test), 10)
    # the logits are those of the final checkpoint's members on the test inputs
    ens = build_ensemble(cfg.model, cfg.ensemble, splits, cfg.seed)
    ckpt.load_checkpoint(out / "checkpoints", ens)
    with torch.no_grad():
        logits = ens.eval()(splits.test.x)
    np.testing.assert_allclose(pred["test_logits"], logits.numpy(), rtol=1e-5, atol=1e-5)
    test_logits, test_y = torch.from_numpy(pred["test_logits"]), torch.from_numpy(pred["test_y"])
    ref = ensemble_summary(test_logits, test_y)
    for k, v in ref.items():
        assert res["test"][k] == pytest.approx(v, rel=1e-6, abs=1e-7), k
    agree = agreement_summary(test_logits, test_y)
    for k, v in agree.items():
        assert res["analysis"]["test"][k] == pytest.approx(v, nan_ok=True), k
    val_agree = agreement_summary(torch.from_numpy(pred["val_logits"]), torch.from_numpy(pred["val_y"]))
    assert res["analysis"]["val"]["member_entropy_mean"] == pytest.approx(val_agree["member_entropy_mean"])
    # validation figures are the last epoch's record
    last = json.loads((out / "metrics.jsonl").read_text().splitlines()[-1])
    assert res["val"]["ens_acc_mean"] == pytest.approx(last["val_ens_acc_mean"])
    val_ref = ensemble_summary(torch.from_numpy(pred["val_logits"]), torch.from_numpy(pred["val_y"]))
    assert res["val"]["ens_acc_mean"] == pytest.approx(val_ref["ens_acc_mean"])


def test_structure_figures_match_the_checkpoint_weights(run: tuple[Path, dict[str, Any]]) -> None:
    out, res = run
    weights = load_run(out).weights()
    per_member = res["analysis"]["per_member"]["weight_std"]
    assert set(per_member) == {"fc1", "fc2", "head"}
    for layer, stds in per_member.items():
        ref = [float(weights[f"members.{i}.{layer}.weight"].std()) for i in range(N)]
        np.testing.assert_allclose(stds, ref, rtol=1e-6)
        assert res["analysis"]["test"]["weight_std"][layer] == pytest.approx(np.mean(ref), rel=1e-6)
    for layer in ("act1", "act2"):
        frac = res["analysis"]["per_member"]["inactive_fraction"][layer]
        assert len(frac) == N and all(0.0 <= f <= 1.0 for f in frac)
        assert res["analysis"]["test"]["inactive_fraction"][layer] == pytest.approx(np.mean(frac))


def test_rerun_returns_the_recorded_results(run: tuple[Path, dict[str, Any]]) -> None:
    out, res = run
    before = (out / "metrics.jsonl").read_text()
    again = run_config(load_config(tiny()), out)
    assert again == json.loads(json.dumps(res))
    assert (out / "metrics.jsonl").read_text() == before


def test_divergence_is_a_result_evaluated_at_the_last_finite_epoch(tmp_path: Path) -> None:
    # −β·KL(p_j‖p_i) is unbounded below: a strong negative coupling with a large step blows up in the second epoch
    raw = tiny(
        objective={"name": "colearning", "params": {"beta": -30.0, "normalize": True}}, optimizer={"lr": 0.5}, epochs=3
    )
    res = run_config(load_config(raw), tmp_path / "div")
    assert res["diverged"] is True
    assert res["diverged_at_epoch"] == 1 and res["evaluated_epoch"] == 0
    for split in ("val", "test"):
        for k, v in res[split].items():
            assert all(math.isfinite(x) for x in (v if isinstance(v, list) else [v])), (split, k)
    cfg = load_config(raw)
    splits = build_splits(cfg.data, cfg.seed)
    ens = build_ensemble(cfg.model, cfg.ensemble, splits, cfg.seed)
    assert ckpt.load_checkpoint(tmp_path / "div" / "checkpoints", ens)["epoch"] == 0
    with np.load(tmp_path / "div" / "predictions.npz") as z:
        test_logits, val_logits = z["test_logits"], z["val_logits"]
    with torch.no_grad():
        np.testing.assert_allclose(test_logits, ens.eval()(splits.test.x).numpy(), rtol=1e-5, atol=1e-4)
    # the validation figures describe the same evaluated state as the test figures
    val = ensemble_summary(torch.from_numpy(val_logits), splits.val.y)
    assert res["val"]["ens_acc_mean"] == pytest.approx(val["ens_acc_mean"])
