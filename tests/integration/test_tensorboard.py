"""TensorBoard logging (issue 15, point 6): ``coterie run ... --tensorboard`` and ``log: {tensorboard: true}`` write
RUN_DIR/tensorboard/events.out.tfevents.* whose scalars, read back with TensorBoard's own EventAccumulator, are
metrics.jsonl's numbers epoch by epoch; a missing tensorboard package is refused before any work (exit 2)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from coterie.cli import app

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "configs" / "colearn-mnist1d-ci.yaml"


def _expected(metrics_path: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.jsonl as tag → [(epoch, value)]: a number under its key, a per-member list as KEY/member_i."""
    out: dict[str, list[tuple[int, float]]] = {}
    for line in metrics_path.read_text().splitlines():
        rec = json.loads(line)
        for k, v in rec.items():
            if k == "epoch":
                continue
            items = [(f"{k}/member_{i}", x) for i, x in enumerate(v)] if isinstance(v, list) else [(k, v)]
            for tag, x in items:
                out.setdefault(tag, []).append((rec["epoch"], float(x)))
    return out


def _events(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    acc = EventAccumulator(str(log_dir), size_guidance={"scalars": 0})
    acc.Reload()
    return {tag: [(e.step, e.value) for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


def _check_events_match_metrics(run_dir: Path) -> None:
    files = list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert files, "no event file written"
    expected, got = _expected(run_dir / "metrics.jsonl"), _events(run_dir / "tensorboard")
    # the members' and the ensemble's training and validation figures are all there, by name
    for tag in (
        "train_loss/member_0",
        "train_loss/member_2",
        "val_member_acc/member_1",
        "val_ens_acc_mean",
        "val_nll",
        "train_kl_mean",
        "lr",
    ):
        assert tag in got, (tag, sorted(got))
    assert sorted(got) == sorted(expected)
    for tag, series in expected.items():
        assert [s for s, _ in got[tag]] == [s for s, _ in series], tag
        assert [v for _, v in got[tag]] == pytest.approx([v for _, v in series], rel=1e-6, abs=1e-7), tag


def test_tensorboard_flag_writes_the_metrics_as_scalars(tmp_path: Path) -> None:
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(CI), "--out", str(out), "--tensorboard"])
    assert res.exit_code == 0, res.output
    _check_events_match_metrics(out)
    assert yaml.safe_load((out / "config.yaml").read_text())["log"] == {"tensorboard": True}


def test_log_section_in_the_config_turns_it_on_and_default_is_off(tmp_path: Path) -> None:
    raw = yaml.safe_load(CI.read_text())
    raw["epochs"] = 2
    raw["log"] = {"tensorboard": True}
    cfg = tmp_path / "tb.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(app, ["run", str(cfg), "--out", str(tmp_path / "on")])
    assert res.exit_code == 0, res.output
    _check_events_match_metrics(tmp_path / "on")
    assert len(_expected(tmp_path / "on" / "metrics.jsonl")["lr"]) == 2

    del raw["log"]
    cfg.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(app, ["run", str(cfg), "--out", str(tmp_path / "off")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "off" / "metrics.jsonl").exists() and not (tmp_path / "off" / "tensorboard").exists()


def test_log_section_rejects_unknown_fields(tmp_path: Path) -> None:
    raw = yaml.safe_load(CI.read_text())
    raw["log"] = {"tensorbord": True}
    cfg = tmp_path / "typo.yaml"
    cfg.write_text(yaml.safe_dump(raw))
    res = CliRunner().invoke(app, ["run", str(cfg), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "log.tensorbord" in res.output
    assert not (tmp_path / "o").exists()


def test_missing_tensorboard_package_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tensorboard", None)  # import tensorboard now fails, as when not installed
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(CI), "--out", str(out), "--tensorboard"])
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "tensorboard package" in lines[0] and "coterie[tensorboard]" in lines[0], res.output
    assert not out.exists()


def test_missing_ray_for_a_ray_sweep_is_one_line_and_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    out = tmp_path / "sweep"
    res = CliRunner().invoke(
        app, ["sweep", str(ROOT / "configs/colearn-sweep-ci.yaml"), "--out", str(out), "--backend", "ray"]
    )
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "--backend ray needs the ray package" in lines[0], res.output
    assert not out.exists()


def test_ldnn_arms_log_to_tensorboard(tmp_path):
    """The learned-diversity experiment trains each arm in arms/<task>-<kind>-<arm>/: with --tensorboard each arm's
    events hold its metrics.jsonl."""
    out = tmp_path / "ldnn"
    res = CliRunner().invoke(app, ["run", "ldnn-mnist1d-ci", "--out", str(out), "--tensorboard"])
    assert res.exit_code == 0, res.output
    arms = sorted((out / "arms").iterdir())
    assert arms
    for arm in arms:
        got = _events(arm / "tensorboard")
        want = _expected(arm / "metrics.jsonl")
        assert set(got) == set(want)
        for tag, values in want.items():
            assert [e for e, _ in got[tag]] == [e for e, _ in values]
            assert [v for _, v in got[tag]] == pytest.approx([v for _, v in values], rel=1e-6)
