"""The run-directory guard's parts: the fingerprint (which fields count), the field-by-field difference, the check
against a directory (fingerprint.json, or config.yaml for runs made before fingerprints), moving a run aside, and the
command-line helpers (``--set`` values, the device check)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import torch
import yaml

from coterie.cli.support import check_device, parse_assignments
from coterie.config import load_config, validate_config
from coterie.experiments.fingerprint import (
    FINGERPRINT_FILE,
    NON_NUMERIC_FIELDS,
    RunDirError,
    RunDirMismatch,
    check_run_dir,
    config_diff,
    fingerprint,
    move_aside,
    numeric_config,
    write_fingerprint,
)
from coterie.experiments.runner import _normalise
from coterie.utils.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
CI = ROOT / "configs" / "colearn-mnist1d-ci.yaml"


def ci_dump(**dotted: object) -> dict:
    """The validated ci config as a mapping, with dotted fields changed (validated again)."""
    raw = load_config(CI).model_dump(mode="json")
    for k, v in dotted.items():
        *parents, leaf = k.split(".")
        cur = raw
        for p in parents:
            cur = cur[p]
        cur[leaf] = v
    return validate_config(raw).model_dump(mode="json")


def test_fingerprint_is_sha256_of_sorted_compact_json_without_the_excluded_fields() -> None:
    cfg = ci_dump()
    literal = {k: v for k, v in cfg.items() if k not in ("name", "device", "checkpoint_every", "log")}
    literal["data"] = {k: v for k, v in cfg["data"].items() if k != "data_dir"}
    text = json.dumps(literal, sort_keys=True, separators=(",", ":"))
    assert fingerprint(cfg) == hashlib.sha256(text.encode()).hexdigest()
    assert numeric_config(cfg) == literal
    assert cfg["name"] == "colearn-mnist1d-ci"  # the input is not modified


@pytest.mark.parametrize(
    "field, value",
    [("name", "another"), ("device", "cpu"), ("checkpoint_every", 3), ("data.data_dir", "/elsewhere")],
)
def test_fields_that_do_not_change_the_numbers_leave_the_fingerprint_alone(field: str, value: object) -> None:
    assert field in NON_NUMERIC_FIELDS
    base = {"data.name": "cifar10", "data.num_samples": None} if field == "data.data_dir" else {}  # CIFAR reads it
    assert fingerprint(ci_dump(**base, **{field: value})) == fingerprint(ci_dump(**base))


@pytest.mark.parametrize(
    "field, value",
    [
        ("objective.params.beta", 0.0),
        ("seed", 1),
        ("epochs", 9),
        ("optimizer.lr", 0.1),
        ("data.num_samples", 900),
        ("model.kwargs", {"hidden": [50, 50]}),
        ("ensemble.size", 4),
    ],
)
def test_fields_that_change_the_numbers_change_the_fingerprint(field: str, value: object) -> None:
    old, new = ci_dump(), ci_dump(**{field: value})
    assert fingerprint(new) != fingerprint(old)
    assert [d[0] for d in config_diff(numeric_config(old), numeric_config(new))] == [
        "model.kwargs.hidden" if field == "model.kwargs" else field
    ]


def test_config_diff_names_nested_leaves_and_absent_sides() -> None:
    old = {"a": 1, "b": {"c": [1, 2], "d": "x"}, "gone": 0}
    new = {"a": 1, "b": {"c": [1, 3], "d": "x", "e": True}}
    assert config_diff(old, new) == [("b.c", [1, 2], [1, 3]), ("b.e", "(absent)", True), ("gone", 0, "(absent)")]
    assert config_diff(old, old) == []


def test_a_refusal_always_names_its_field(tmp_path: Path) -> None:
    # values equal in Python but typed differently hash differently: the refusal must still name the field
    base = ci_dump(**{"objective.params.beta": 0, "objective.params.normalize": 1})
    write_fingerprint(tmp_path, base)
    for field, value in (("objective.params.beta", 0.0), ("objective.params.normalize", True)):
        other = ci_dump(**{"objective.params.beta": 0, "objective.params.normalize": 1, field: value})
        assert fingerprint(other) != fingerprint(base)
        with pytest.raises(RunDirMismatch) as e:
            check_run_dir(tmp_path, other)
        assert [d[0] for d in e.value.differences] == [field]
    assert config_diff({"a": [50, 50]}, {"a": [50.0, 50]}) == [("a", [50, 50], [50.0, 50])]


def test_check_run_dir_new_same_and_different(tmp_path: Path) -> None:
    cfg = ci_dump()
    assert check_run_dir(tmp_path / "missing", cfg) is False
    assert check_run_dir(tmp_path, cfg) is False  # an empty directory holds no run
    write_fingerprint(tmp_path, cfg)
    stored = json.loads((tmp_path / FINGERPRINT_FILE).read_text())
    assert stored["fingerprint"] == fingerprint(cfg) and stored["config"] == numeric_config(cfg)
    assert check_run_dir(tmp_path, ci_dump(device="cpu", name="x")) is True
    with pytest.raises(RunDirMismatch) as e:
        check_run_dir(tmp_path, ci_dump(**{"objective.params.beta": 0.0, "seed": 3}))
    assert e.value.differences == [("objective.params.beta", -0.5, 0.0), ("seed", 0, 3)]
    msg = str(e.value)
    assert "objective.params.beta: -0.5 → 0.0" in msg and "seed: 0 → 3" in msg and "--restart" in msg
    assert "\n" not in msg


def test_old_run_without_fingerprint_is_compared_with_its_config_yaml(tmp_path: Path) -> None:
    cfg = ci_dump()
    old = dict(cfg)
    old.pop("amp", None)  # a field the schema gained after the run: its default is what the old run did
    old["device"] = "cuda"
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(old))
    assert check_run_dir(tmp_path, cfg, _normalise) is True
    with pytest.raises(RunDirMismatch) as e:
        check_run_dir(tmp_path, ci_dump(epochs=2), _normalise)
    assert e.value.differences == [("epochs", 8, 2)]


def test_unreadable_fingerprint_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / FINGERPRINT_FILE).write_text("{not json")
    with pytest.raises(RunDirError, match=r"fingerprint\.json is unreadable"):
        check_run_dir(tmp_path, ci_dump())


def test_move_aside_keeps_every_byte_and_earlier_previous_folders(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    files = {"results.json": b"{}", "checkpoints/epoch-0001.safetensors": bytes(range(256)), ".hidden": b"h"}
    for rel, data in files.items():
        (run / rel).write_bytes(data)
    first = move_aside(run)
    assert first is not None and first.parent == run and first.name.startswith(".previous-")
    assert [p.name for p in run.iterdir()] == [first.name]
    assert {str(p.relative_to(first)): p.read_bytes() for p in first.rglob("*") if p.is_file()} == files
    (run / "results.json").write_bytes(b"second")
    second = move_aside(run)  # the same second: a distinct folder, the first one untouched
    assert second is not None and second != first
    assert (second / "results.json").read_bytes() == b"second"
    assert sorted(p.name for p in run.iterdir()) == sorted([first.name, second.name])
    assert move_aside(run) is None and move_aside(tmp_path / "absent") is None


def test_parse_assignments_reads_yaml_values() -> None:
    got = parse_assignments(
        [
            "objective.params.beta=-0.5",
            "model.kwargs.hidden=[50,50]",
            "name=a=b",
            "frozen=[]",
            "data.split_seed=null",
            "bootstrap=true",
            "x={k: v}",
        ]
    )
    assert got == {
        "objective.params.beta": -0.5,
        "model.kwargs.hidden": [50, 50],
        "name": "a=b",
        "frozen": [],
        "data.split_seed": None,
        "bootstrap": True,
        "x": {"k": "v"},
    }
    for bad in ("epochs", "=3", "a..b=1", "a=[1,"):
        with pytest.raises(InputError, match="--set"):
            parse_assignments([bad])


def test_check_device(monkeypatch: pytest.MonkeyPatch) -> None:
    check_device("cpu")
    check_device("auto")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="CUDA is not available") as e:
        check_device("cuda")
    assert "\n" not in str(e.value)
    with pytest.raises(InputError, match="allowed"):
        check_device("gpu")
