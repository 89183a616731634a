"""A finished `train` run reused: coterie.load, `coterie eval`, `coterie attack`, `coterie export`, and bad input.

One -ci run per module (module fixture); its trainer is kept (spied out of run_train) so the loaded weights are
compared with the in-memory predictions at the end of training and at the best epoch.
"""

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import torch
import yaml
from typer.testing import CliRunner

import coterie
from coterie.cli import app
from coterie.config import load_config
from coterie.experiments import build
from coterie.experiments.loading import RunLoadError
from coterie.experiments.runner import run_config
from coterie.training.callbacks import ValidationLogitsRecorder
from coterie.training.trainer import predict_logits

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "configs" / "colearn-mnist1d-ci.yaml"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """(run_dir, trainer, recorder, splits) of one colearn-mnist1d-ci run."""
    out = tmp_path_factory.mktemp("reuse") / "run"
    seen = {}
    build_trainer, build_splits = build.build_trainer, build.build_splits  # run_train builds through setup_train

    def spy_trainer(*a, **k):
        t = build_trainer(*a, **k)
        seen["recorder"] = rec = ValidationLogitsRecorder()
        t.callbacks = [*t.callbacks, rec]
        seen["trainer"] = t
        return t

    def spy_splits(*a, **k):
        seen["splits"] = s = build_splits(*a, **k)
        return s

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(build, "build_trainer", spy_trainer)
        mp.setattr(build, "build_splits", spy_splits)
        run_config(load_config(CI), out)
    return out, seen["trainer"], seen["recorder"], seen["splits"]


def _cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def test_run_dir_describes_itself(run):
    out, trainer, _, _ = run
    cfg = yaml.safe_load((out / "config.yaml").read_text())
    assert cfg["model"]["kwargs"] == {"in_features": 40, "num_classes": 10, "hidden": [64, 64]}
    assert "in_features" not in (out / "fingerprint.json").read_text()  # the config as given, H1's file
    results = json.loads((out / "results.json").read_text())
    assert results["weights"] == {"final": "final.safetensors", "best": "best.safetensors"}
    vals = [r["val_ens_acc_mean"] for r in trainer.history]
    assert results["best"] == {
        "metric": "val_ens_acc_mean",
        "mode": "max",
        "epoch": vals.index(max(vals)),
        "value": max(vals),
    }


def test_load_rebuilds_without_data(run, monkeypatch):
    out, trainer, rec, splits = run

    def no_data(*a, **k):
        raise AssertionError("coterie.load must not touch the data")

    monkeypatch.setattr(build, "build_splits", no_data)
    monkeypatch.setattr("coterie.data.load_splits", no_data)
    final = coterie.load(out, "final")
    best = coterie.load(out)  # which="best" by default
    assert isinstance(final, coterie.Ensemble) and not final.training
    assert next(final.parameters()).device.type == "cpu"
    # final: the in-memory trainer's predictions at the end of training
    assert torch.allclose(predict_logits(final, splits.test.x), trainer.predict(splits.test.x), atol=1e-6, rtol=0)
    # best: the validation logits the trainer computed at the best epoch
    epoch = json.loads((out / "results.json").read_text())["best"]["epoch"]
    assert torch.allclose(predict_logits(best, splits.val.x), rec.logits[rec.epochs.index(epoch)], atol=1e-6, rtol=0)


def test_eval_equals_results_json(run):
    out = run[0]
    res = _cli("eval", out, "--which", "final", "--split", "test")
    assert res.exit_code == 0, res.output
    ev = json.loads((out / "eval.json").read_text())
    test = json.loads((out / "results.json").read_text())["test"]
    assert ev["split"] == "test" and ev["which"] == "final" and ev["n_samples"] == 200
    assert ev["metrics"].keys() == test.keys()
    for k, v in test.items():
        assert ev["metrics"][k] == pytest.approx(v, abs=1e-6, rel=0), k
        if isinstance(v, float):
            assert f"{v:.4f}" in res.output


def test_eval_val_best_equals_logged_best_epoch(run):
    out, trainer, _, _ = run
    assert _cli("eval", out, "--split", "val").exit_code == 0
    ev = json.loads((out / "eval.json").read_text())["metrics"]
    epoch = json.loads((out / "results.json").read_text())["best"]["epoch"]
    logged = trainer.history[epoch]
    for k, v in ev.items():
        assert logged[f"val_{k}"] == pytest.approx(v, abs=1e-6, rel=0), k


@pytest.mark.parametrize("rule", ["vote", "mean"])
def test_attack_at_eps_zero_is_clean_accuracy(run, rule):
    out = run[0]
    assert _cli("eval", out, "--which", "final").exit_code == 0
    ens_acc = json.loads((out / "eval.json").read_text())["metrics"][f"ens_acc_{rule}"]
    res = _cli(
        "attack",
        out,
        "--attack",
        "pgd",
        "--eps",
        "0",
        "--steps",
        "3",
        "--restarts",
        "2",
        "--rule",
        rule,
        "--which",
        "final",
    )
    assert res.exit_code == 0, res.output
    rec = json.loads((out / "attack.json").read_text())
    assert rec["adv_acc"] == rec["clean_acc"] == pytest.approx(ens_acc, abs=1e-6)  # float32 vs exact; 1 sample = 0.005
    assert (rec["attack"], rec["eps"], rec["rule"], rec["restarts"], rec["n_samples"]) == ("pgd", 0.0, rule, 2, 200)


def test_attack_records_settings_and_subset(run):
    out = run[0]
    res = _cli("attack", out, "--attack", "fgsm", "--eps", "0.05", "--n-samples", "50")
    assert res.exit_code == 0, res.output
    rec = json.loads((out / "attack.json").read_text())
    assert rec["n_samples"] == 50 and rec["which"] == "best" and rec["head"] == "mean_prob"
    assert 0 <= rec["adv_acc"] <= 1 and "steps" not in rec


def test_export_round_trip(run, tmp_path):
    out = run[0]
    res = _cli("export", out, "--format", "torch-export", "--which", "final", "--out", tmp_path / "ens.pt2")
    assert res.exit_code == 0, res.output
    program = torch.export.load(str(tmp_path / "ens.pt2"))
    ens = coterie.load(out, "final")
    for batch in (1, 7):  # the batch dimension is dynamic
        x = torch.rand(batch, 40) * 8 - 4
        probs, logits = program.module()(x)
        with torch.no_grad():
            want = ens(x)
        assert logits.shape == (3, batch, 10) and probs.shape == (batch, 10)
        assert torch.allclose(logits, want, atol=1e-5)
        assert torch.allclose(probs, want.softmax(-1).mean(0), atol=1e-5)


@pytest.mark.parametrize(("fmt", "out"), [(None, "a.pt2"), (None, "a.onnx"), (None, "a.bin"), ("onnx", "a.pt2")])
def test_export_format_follows_the_suffix(fmt, out):
    from coterie.experiments.export_run import RunArgumentError, export_format

    want = {"a.pt2": "torch-export", "a.onnx": "onnx", "a.bin": "torch-export"}[out]
    if fmt is None:
        assert export_format(out, fmt) == want
    else:  # the suffix of the other format: neither tool would read the file back
        with pytest.raises(RunArgumentError, match=r"\.pt2 is the torch-export suffix but --format is onnx"):
            export_format(out, fmt)


def test_export_to_an_onnx_name_is_never_a_torch_export_archive(run, tmp_path):
    res = _cli("export", run[0], "--format", "torch-export", "--out", tmp_path / "e.onnx")
    _one_line_exit_2(res)
    assert ".onnx is the onnx suffix but --format is torch-export" in res.output
    assert not (tmp_path / "e.onnx").exists()


@pytest.mark.skipif(importlib.util.find_spec("onnx") is not None, reason="onnx is installed")
def test_export_onnx_without_package(run, tmp_path):
    res = _cli("export", run[0], "--format", "onnx", "--out", tmp_path / "e.onnx")
    assert res.exit_code == 2 and "needs the package(s) onnx" in res.output and "pip install" in res.output
    res = _cli("export", run[0], "--out", tmp_path / "e.onnx")  # the format follows the suffix
    assert res.exit_code == 2 and "needs the package(s) onnx" in res.output
    assert not (tmp_path / "e.onnx").exists()


@pytest.mark.skipif(any(importlib.util.find_spec(m) is None for m in ("onnx", "onnxscript")), reason="no onnx")
def test_export_onnx_round_trip(run, tmp_path):
    import onnx

    res = _cli("export", run[0], "--format", "onnx", "--which", "final", "--out", tmp_path / "e.onnx")
    assert res.exit_code == 0, res.output
    model = onnx.load(str(tmp_path / "e.onnx"))
    onnx.checker.check_model(model)
    assert [o.name for o in model.graph.output] == ["probs", "member_logits"]
    if importlib.util.find_spec("onnxruntime") is None:
        return
    import onnxruntime

    session = onnxruntime.InferenceSession(str(tmp_path / "e.onnx"), providers=["CPUExecutionProvider"])
    ens = coterie.load(run[0], "final")
    for batch in (1, 7):
        x = torch.rand(batch, 40) * 8 - 4
        probs, logits = session.run(None, {"x": x.numpy()})
        with torch.no_grad():
            want = ens(x)
        assert torch.allclose(torch.from_numpy(logits), want, atol=1e-5)
        assert torch.allclose(torch.from_numpy(probs), want.softmax(-1).mean(0), atol=1e-5)


# ------------------------------------------------------------------ bad input: one line, exit 2, nothing written
def _one_line_exit_2(res):
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and len(res.output.strip().splitlines()) == 1, res.output


BAD_CMDS = [["eval"], ["attack", "--attack", "fgsm", "--eps", "0.1"], ["export", "--out", "never-written.pt2"]]


@pytest.mark.parametrize("cmd", BAD_CMDS)
def test_not_a_run_directory(tmp_path, cmd):
    res = _cli(cmd[0], tmp_path, *cmd[1:])
    _one_line_exit_2(res)
    assert "is not a run directory (no config.yaml" in res.output
    _one_line_exit_2(_cli(cmd[0], tmp_path / "missing", *cmd[1:]))
    with pytest.raises(RunLoadError, match="is not a run directory"):
        coterie.load(tmp_path)
    assert list(tmp_path.iterdir()) == []


def _copy(run, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(run[0], d)
    return d


def _reuse_commands_refuse(d, tmp_path, text):
    """eval, attack and export of run directory ``d`` each fail with one line containing ``text``, exit 2, and the
    export writes nothing."""
    for cmd in (["eval"], ["attack", "--attack", "fgsm", "--eps", "0.1"], ["export", "--out", tmp_path / "x.pt2"]):
        res = _cli(cmd[0], d, *cmd[1:])
        _one_line_exit_2(res)
        assert text in res.output
    assert not (tmp_path / "x.pt2").exists()


def test_corrupted_weights(run, tmp_path):
    d = _copy(run, tmp_path)
    data = (d / "best.safetensors").read_bytes()
    (d / "best.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(RunLoadError, match=r"best\.safetensors is truncated or corrupted.*--restart.*--which final"):
        coterie.load(d)
    _reuse_commands_refuse(d, tmp_path, "best.safetensors is truncated or corrupted")
    assert isinstance(coterie.load(d, "final"), coterie.Ensemble)  # the other file still loads


def test_missing_weights(run, tmp_path):
    d = _copy(run, tmp_path)
    (d / "final.safetensors").unlink()
    with pytest.raises(RunLoadError, match=r"no final\.safetensors \(weights files present: best\.safetensors\)"):
        coterie.load(d, "final")
    (d / "results.json").unlink()  # a run still in progress
    res = _cli("eval", d, "--which", "final")
    _one_line_exit_2(res)
    assert "has not finished" in res.output
    with pytest.raises(RunLoadError, match="which must be one of"):
        coterie.load(d, "last")


def test_an_unfinished_runs_best_weights_are_refused(run, tmp_path):
    # an interrupted or running run has best.safetensors (the best epoch so far) but no results.json: eval, attack,
    # export and coterie.load say it has not finished instead of quietly using a half-trained ensemble
    d = _copy(run, tmp_path)
    for name in ("results.json", "eval.json", "attack.json"):  # the last two, if earlier tests wrote them
        (d / name).unlink(missing_ok=True)
    with pytest.raises(RunLoadError, match=r"best\.safetensors only from an unfinished run.*has not finished"):
        coterie.load(d)
    _reuse_commands_refuse(d, tmp_path, "has not finished")
    assert not (d / "eval.json").exists() and not (d / "attack.json").exists()


def test_load_uses_the_experiments_own_loader(run, monkeypatch):
    import dataclasses

    from coterie.experiments import registry
    from coterie.training.best_weights import WeightsFileError

    calls = []

    def loader(cfg, rundir, which, device):
        calls.append((cfg.experiment, rundir.path, which, device))
        if which == "final":
            raise WeightsFileError("weights file f.safetensors is truncated or corrupted (test)")
        return "artefact"

    exp = registry.get("train")
    with registry.EXPERIMENTS.override("train", dataclasses.replace(exp, load=loader)):
        assert coterie.load(run[0], device="cpu") == "artefact"
        assert calls == [("train", run[0], "best", torch.device("cpu"))]
        with pytest.raises(RunLoadError, match=r"f\.safetensors is truncated or corrupted \(test\); re-run"):
            coterie.load(run[0], "final")
