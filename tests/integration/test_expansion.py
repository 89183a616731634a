"""``experiment: expansion`` (seed 000 §3.4, Table S5) on a shrunk copy of configs/expansion-ci.yaml: the Table S5
rows, frozen members bit-identical, the boosting subset equal to a brute-force count of split votes, and every
reported accuracy recomputed from the checkpoints."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from safetensors.torch import load_file

from coterie.config import load_config
from coterie.ensemble import Ensemble
from coterie.experiments import expansion
from coterie.experiments.build import build_splits
from coterie.experiments.runner import run_config
from coterie.metrics.classification import ensemble_accuracy

ROOT = Path(__file__).resolve().parents[2]
N0, K, BASE_EPOCHS, EXTRA_EPOCHS = 4, 2, 2, 1


def shrunk() -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "configs" / "expansion-ci.yaml").read_text())
    raw.update(data={**raw["data"], "num_samples": 400}, base_epochs=BASE_EPOCHS, extra_epochs=EXTRA_EPOCHS)
    assert raw["base_size"] == N0 and raw["add"] == K
    return raw


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    out = tmp_path_factory.mktemp("expansion") / "run"
    return out, run_config(load_config(shrunk()), out)


def last_weights(run_dir: Path) -> dict[str, torch.Tensor]:
    index = json.loads((run_dir / "checkpoints" / "last.json").read_text())
    tensors = load_file(str(run_dir / "checkpoints" / index["tensors"]))
    return {k[len("model/") :]: v for k, v in tensors.items() if k.startswith("model/")}


def member_state(weights: dict[str, torch.Tensor], i: int) -> dict[str, torch.Tensor]:
    prefix = f"members.{i}."
    return {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}


def ensemble_from(states: list[dict[str, torch.Tensor]], cfg: Any, splits: Any) -> Ensemble:
    members = expansion._new_members(cfg, splits, len(states), 12345)
    for m, s in zip(members, states):
        m.load_state_dict(s)
    return Ensemble(members, executor="loop").eval()


def test_table_s5_rows(result: tuple[Path, dict[str, Any]]) -> None:
    out, res = result
    methods = res["methods"]
    total = BASE_EPOCHS + EXTRA_EPOCHS
    assert list(methods) == [
        "base",
        "add-freeze_+0",
        "add-freeze_-0.5",
        "add-retrain",
        f"scratch_{BASE_EPOCHS}ep",
        f"scratch_{total}ep",
        "boost_m0",
        "boost_m1",
    ]
    assert methods["base"]["n_members"] == N0 and methods["base"]["beta_bar"] == -0.5
    assert [methods[f"add-freeze_{b}"]["beta_bar"] for b in ("+0", "-0.5")] == [0.0, -0.5]
    for name, m in methods.items():
        if name != "base" and m.get("test_acc") is not None:
            assert m["n_members"] == N0 + K, name
        if m.get("test_acc") is not None:
            assert 0.0 <= m["test_acc"] <= 1.0
            for k in ("test_acc_geometric", "test_acc_vote", "val_acc", "test_member_acc_mean", "test_mean_js"):
                assert k in m, (name, k)
    assert res["test_acc"] == {name: m.get("test_acc") for name, m in methods.items()}
    for sub in ("base", "add-freeze_+0", "add-retrain", f"scratch_{total}ep", "boost_m0"):
        assert (out / sub / "metrics.jsonl").exists(), sub
    # each variant trained for the epochs Table S5 gives it
    assert len((out / "base" / "metrics.jsonl").read_text().splitlines()) == BASE_EPOCHS
    assert len((out / "add-freeze_+0" / "metrics.jsonl").read_text().splitlines()) == EXTRA_EPOCHS
    assert len((out / f"scratch_{total}ep" / "metrics.jsonl").read_text().splitlines()) == total


def test_add_freeze_keeps_existing_members_bit_identical(result: tuple[Path, dict[str, Any]]) -> None:
    out, _ = result
    base = last_weights(out / "base")
    cfg = load_config(shrunk())
    splits = build_splits(cfg.data, cfg.seed)
    init_new = expansion._new_members(cfg, splits, K, cfg.seed * 1000 + 500)
    for variant in ("add-freeze_+0", "add-freeze_-0.5"):
        w = last_weights(out / variant)
        for i in range(N0):
            a, b = member_state(base, i), member_state(w, i)
            assert a.keys() == b.keys()
            for k in a:
                assert torch.equal(a[k], b[k]), (variant, i, k)  # bit-identical, not merely close
        for j in range(K):  # the new members did train
            new = member_state(w, N0 + j)
            assert not torch.equal(new["fc1.weight"], init_new[j].fc1.weight.detach()), (variant, j)
    # with β̄ < 0 the new members are pushed by the frozen ones too: their weights differ from β̄ = 0's
    zero, neg = last_weights(out / "add-freeze_+0"), last_weights(out / "add-freeze_-0.5")
    assert not torch.equal(zero[f"members.{N0}.fc1.weight"], neg[f"members.{N0}.fc1.weight"])
    # add-retrain lets the existing members train on
    retrain = last_weights(out / "add-retrain")
    assert not torch.equal(retrain["members.0.fc1.weight"], base["members.0.fc1.weight"])


def brute_force_border(logits: torch.Tensor, y: torch.Tensor, margin: int) -> list[int]:
    """Training samples on which between N/2 − m and N/2 + m existing members vote for the true label."""
    n = logits.shape[0]
    out = []
    for k in range(logits.shape[1]):
        correct = sum(int(int(torch.argmax(logits[i, k])) == int(y[k])) for i in range(n))
        if n / 2 - margin <= correct <= n / 2 + margin or (n % 2 and abs(correct - n / 2) <= margin + 0.5):
            out.append(k)
    return out


def test_boost_subset_is_the_decision_border(result: tuple[Path, dict[str, Any]]) -> None:
    out, res = result
    cfg = load_config(shrunk())
    splits = build_splits(cfg.data, cfg.seed)
    base = last_weights(out / "base")
    ens = ensemble_from([member_state(base, i) for i in range(N0)], cfg, splits)
    with torch.no_grad():
        logits = ens(splits.train.x)
    sizes = []
    for m in cfg.boost_margins:
        subset = brute_force_border(logits, splits.train.y, m)
        entry = res["methods"][f"boost_m{m}"]
        assert entry["subset_size"] == len(subset), m
        assert entry["margin"] == m and entry["beta_bar"] == 0.0
        sizes.append(len(subset))
    assert sizes == sorted(sizes)  # widening the margin widens the subset
    assert 0 < sizes[0] < len(splits.train)
    # the boosted ensemble = the base members + the K members trained in boost_m0; its reported accuracy is theirs
    boost = last_weights(out / "boost_m0")
    assert not any(k.startswith(f"members.{K}.") for k in boost)  # only the new members trained there
    full = ensemble_from(
        [member_state(base, i) for i in range(N0)] + [member_state(boost, j) for j in range(K)], cfg, splits
    )
    with torch.no_grad():
        acc = float(ensemble_accuracy(full(splits.test.x), splits.test.y))
    assert res["methods"]["boost_m0"]["test_acc"] == pytest.approx(acc)


def test_reported_accuracies_are_those_of_the_checkpoints(result: tuple[Path, dict[str, Any]]) -> None:
    out, res = result
    cfg = load_config(shrunk())
    splits = build_splits(cfg.data, cfg.seed)
    for variant, n in [
        ("base", N0),
        ("add-freeze_-0.5", N0 + K),
        ("add-retrain", N0 + K),
        (f"scratch_{BASE_EPOCHS}ep", N0 + K),
    ]:
        w = last_weights(out / variant)
        ens = ensemble_from([member_state(w, i) for i in range(n)], cfg, splits)
        with torch.no_grad():
            logits = ens(splits.test.x)
        m = res["methods"][variant]
        assert m["test_acc"] == pytest.approx(float(ensemble_accuracy(logits, splits.test.y))), variant
        assert m["test_acc_vote"] == pytest.approx(float(ensemble_accuracy(logits, splits.test.y, "vote"))), variant


def test_brute_force_border_reference_agrees_with_the_library_on_odd_sizes() -> None:
    from coterie.analysis import decision_border_mask

    g = torch.Generator().manual_seed(0)
    for n in (3, 4, 5, 10):
        logits = torch.randn(n, 200, 3, generator=g)
        y = torch.randint(0, 3, (200,), generator=g)
        for m in range(3):
            got = decision_border_mask(logits, y, m).nonzero().flatten().tolist()
            assert got == brute_force_border(logits, y, m), (n, m)


def test_unknown_method_is_a_config_error() -> None:
    raw = shrunk()
    raw["methods"] = ["add-freeze", "bagging"]
    with pytest.raises(ValueError, match="methods"):
        load_config(raw)


def test_no_border_sample_skips_boosting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = shrunk()
    raw.update(methods=["boost"], boost_margins=[0], base_epochs=1)
    monkeypatch.setattr(
        expansion, "decision_border_mask", lambda logits, y, margin: torch.zeros(y.shape[0], dtype=torch.bool)
    )
    res = run_config(load_config(raw), tmp_path / "run")
    assert res["methods"]["boost_m0"]["subset_size"] == 0 and res["methods"]["boost_m0"]["test_acc"] is None
    assert not np.isnan(res["methods"]["base"]["test_acc"])


def test_report_of_an_expansion_run_lists_the_table_s5_rows(result: tuple[Path, dict[str, Any]]) -> None:
    from typer.testing import CliRunner

    from coterie.cli import app

    out, res = result
    cli = CliRunner().invoke(app, ["report", str(out)])
    assert cli.exit_code == 0, cli.output
    text = (out / "report.html").read_text()
    assert "Table S5" in text
    for name in res["methods"]:
        assert f"<td>{name}</td>" in text, name
    assert "<td>NaN</td>" not in text  # missing cells (margin of non-boost rows) are blank
    summary = (out / "summary.csv").read_text()
    assert "methods.add-freeze_-0.5.test_acc" in summary
