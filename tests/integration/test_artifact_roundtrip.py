"""Every experiment's artefacts load back (``coterie.load``) to modules whose predictions equal the in-memory ones.

The in-memory reference is taken when the experiment saves: a spy around
:func:`coterie.experiments.artifacts.store.save_modules` deep-copies each module handed to it (the state at the end
of training), and the loaded artefact must reproduce that copy's outputs on a fixed input to 1e-6. Where the run
recorded figures of its own (test accuracies, the searched chromosome, saved test logits) the loaded artefact must
reproduce those too, on the rebuilt split.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from torch import nn

import coterie
from coterie import merging
from coterie.config import validate_config
from coterie.experiments import registry
from coterie.experiments.artifacts import store
from coterie.experiments.build import build_splits
from coterie.experiments.runner import run_config
from coterie.metrics import ensemble_summary
from coterie.objectives.colearning import CoLearning
from coterie.utils.rundir import RunDir

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


@pytest.fixture
def saved(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """``{file name: deep copy of what was saved}``, filled while an experiment runs."""
    record: dict[str, Any] = {}
    real = store.save_modules

    def spy(path: Path, modules: Any, meta: Mapping[str, Any]) -> Path:
        if isinstance(modules, nn.Module):
            record[Path(path).name] = copy.deepcopy(modules)
        else:
            record[Path(path).name] = {k: copy.deepcopy(m) for k, m in modules.items()}
        return real(path, modules, meta)

    monkeypatch.setattr(store, "save_modules", spy)
    return record


def _run(tmp_path: Path, name: str, **changes: Any) -> tuple[Path, dict[str, Any]]:
    raw = yaml.safe_load((CONFIGS / name).read_text())
    raw.pop("sweep", None)
    raw.update(changes)
    out = tmp_path / "run"
    return out, run_config(validate_config(raw), out)


@torch.no_grad()
def _same(reference: nn.Module, loaded: nn.Module, x: torch.Tensor) -> None:
    """``loaded`` is in eval mode and maps ``x`` as ``reference`` (in eval mode) does, to 1e-6."""
    assert not loaded.training
    reference.eval()
    want, got = reference(x), loaded(x)
    assert got.shape == want.shape
    torch.testing.assert_close(got, want, atol=1e-6, rtol=0)


def test_expansion_roundtrip(tmp_path: Path, saved: dict[str, Any]) -> None:
    out, res = _run(tmp_path, "expansion-ci.yaml")
    loaded = coterie.load(out, which="final")
    expected = [k for k, v in res["methods"].items() if v.get("test_acc") is not None]
    assert list(loaded) == expected
    cfg = registry.get("expansion").config_cls.model_validate(yaml.safe_load((out / "config.yaml").read_text()))
    test = build_splits(cfg.data, cfg.seed).test
    x = torch.randn(32, 40, generator=torch.Generator().manual_seed(0))
    for name, ens in loaded.items():
        assert isinstance(ens, coterie.Ensemble) and len(ens) == res["methods"][name]["n_members"]
        _same(saved[f"ensemble-{name}.safetensors"], ens, x)
        with torch.no_grad():
            acc = ensemble_summary(ens(test.x), test.y)["ens_acc_mean"]
        assert acc == pytest.approx(res["methods"][name]["test_acc"], abs=1e-9)
    assert coterie.load(out, which="best").keys() == loaded.keys()  # no epoch selection: best is final


def test_merge_roundtrip(tmp_path: Path, saved: dict[str, Any]) -> None:
    out, res = _run(tmp_path, "merge-ci.yaml")
    loaded = coterie.load(out, which="final")
    cfg = registry.get("merge").config_cls.model_validate(yaml.safe_load((out / "config.yaml").read_text()))
    test = merging.held_out(build_splits(cfg.data, cfg.seed).test)
    x = torch.randn(32, 40, generator=torch.Generator().manual_seed(0))
    parents = saved["merge-parents.safetensors"]
    assert len(loaded["parents"]) == len(parents) == cfg.members
    for ref, net in zip(parents.values(), loaded["parents"]):
        _same(ref, net, x)
    for stage in ("pair", "hierarchy"):
        assert list(loaded[stage]) == list(res[stage]["merged"])
        for variant, net in loaded[stage].items():
            _same(saved[f"merged-{stage}-{variant}.safetensors"], net, x)
            acc = merging.evaluate(net, test)["accuracy"]
            assert acc == pytest.approx(res[stage]["merged"][variant]["test_acc"], abs=1e-9), (stage, variant)


def test_robustness_roundtrip(tmp_path: Path, saved: dict[str, Any]) -> None:
    out, res = _run(tmp_path, "robustness-ci.yaml")
    loaded = coterie.load(out, which="final")
    assert list(loaded) == [*res["methods"], "surrogate"]
    x = torch.rand(16, 40, generator=torch.Generator().manual_seed(0))  # inputs scaled to [0, 1]
    for label, ens in loaded.items():
        name = "surrogate.safetensors" if label == "surrogate" else f"ensemble-{label.replace('/', '_')}.safetensors"
        _same(saved[name], ens, x)
    exp = registry.get("robustness")
    cfg = exp.config_cls.model_validate(yaml.safe_load((out / "config.yaml").read_text()))
    assert list(exp.load(cfg, RunDir(out), "repeat0", None)) == list(loaded)
    with pytest.raises(ValueError, match="allowed: final, best, repeat0"):
        exp.load(cfg, RunDir(out), "repeat1", None)


@pytest.mark.parametrize(("config", "dim"), [("ldnn-mnist1d-ci.yaml", 40), ("ldnn-henonheiles-ci.yaml", 4)])
def test_ldnn_roundtrip(tmp_path: Path, saved: dict[str, Any], config: str, dim: int) -> None:
    out, res = _run(tmp_path, config)
    loaded = coterie.load(out, which="final")
    task = res["task"]
    x = torch.randn(32, dim, generator=torch.Generator().manual_seed(0))
    grid = torch.linspace(-12, 12, 301)  # beyond the exported range: extrapolation too
    for kind, entry in loaded.items():
        tag = f"{task}-{kind}"
        _same(saved[f"ldnn-{tag}-meta.safetensors"], entry["meta"], x)
        refs = list(saved[f"ldnn-{tag}-activations.safetensors"].values())
        assert len(entry["activations"]) == len(refs) == 2
        for ref, act in zip(refs, entry["activations"]):
            _same(ref, act, grid)
        assert set(entry["arms"]) == set(res[kind]["val"])
        for arm, nets in entry["arms"].items():
            refs = list(saved[f"ldnn-{tag}-arm-{arm}.safetensors"].values())
            assert len(nets) == len(refs) == len(res[kind]["per_seed_val"][arm])
            for ref, net in zip(refs, nets):
                _same(ref, net, x)


def test_codeepnet_roundtrip(tmp_path: Path, saved: dict[str, Any]) -> None:
    from coterie.cooperative.chromosome import Chromosome

    out, res = _run(tmp_path, "codeepnet-age-ci.yaml", ablations=["none"])
    art = coterie.load(out, which="final")
    assert art["chromosome"] == Chromosome.from_dict(res["chromosome"])  # the searched chromosome's pair
    assert len(art["cpgs"]) == len(art["fill_values"]) == res["data"]["n_selected"]
    x = torch.rand(16, res["data"]["n_selected"], generator=torch.Generator().manual_seed(0))
    _same(saved["pair.safetensors"], art["pair"], x)
    _same(saved["pair-none.safetensors"], art["ablations"]["none"], x)
    _same(saved["single_cnn.safetensors"], art["single_cnn"], x)
    z = np.array([-1.0, 0.0, 1.5])
    ages = art["scaler"].decode(z)
    np.testing.assert_allclose(art["scaler"].encode(ages), z, atol=1e-5)  # a fitted, invertible scaler
    assert ages.min() > 0 and ages.max() < 150


class _BlowUpAt(CoLearning):
    """Co-learning that fills every parameter with NaN at training step ``at``: the run diverges there."""

    def __init__(self, at: int = 0, beta: float = -0.5, normalize: bool = True) -> None:
        super().__init__(beta=beta, normalize=normalize)
        self.at, self.calls = at, 0

    def __call__(self, ensemble: Any, x: Any, y: Any) -> Any:
        if self.calls == self.at:
            with torch.no_grad():
                for p in ensemble.parameters():
                    p.fill_(float("nan"))
        self.calls += 1
        return super().__call__(ensemble, x, y)


@pytest.mark.parametrize("blow_up_at", [None, 15])
def test_colearn_roundtrip(tmp_path: Path, blow_up_at: int | None) -> None:
    """final.safetensors reproduces the saved test logits (predictions.npz), also when the run diverged."""
    from coterie.objectives import base

    objective = {"name": "colearning", "params": {"beta": -0.5, "normalize": True}}
    with contextlib.ExitStack() as stack:
        if blow_up_at is not None:
            stack.enter_context(base.OBJECTIVES.override("test_blow_up", _BlowUpAt))
            objective = {"name": "test_blow_up", "params": {"at": blow_up_at, "beta": -0.5, "normalize": True}}
        out, res = _run(tmp_path, "colearn-sweep-ci.yaml", objective=objective)
        assert res["diverged"] is (blow_up_at is not None)
        ens = coterie.load(out, which="final")
        assert isinstance(ens, coterie.Ensemble) and not ens.training
        pred = np.load(out / "predictions.npz")
        cfg = registry.get("colearn").config_cls.model_validate(yaml.safe_load((out / "config.yaml").read_text()))
        test = build_splits(cfg.data, cfg.seed).test
        with torch.no_grad():
            logits = ens(test.x)
        torch.testing.assert_close(logits, torch.from_numpy(pred["test_logits"]), atol=1e-6, rtol=0)
        assert torch.isfinite(coterie.load(out, which="best")(test.x)).all()


def test_corrupt_artifact_is_named(tmp_path: Path) -> None:
    path = store.save_modules(tmp_path / "a.safetensors", nn.Linear(3, 2), {"x": 1})
    tensors, meta = store.load_tensors(path)
    assert meta == {"x": 1} and set(tensors) == {"weight", "bias"}
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(ValueError, match=r"a\.safetensors is truncated or corrupt"):
        store.load_tensors(path)
    with pytest.raises(FileNotFoundError, match=r"b\.safetensors is missing"):
        store.load_tensors(tmp_path / "b.safetensors")
    with pytest.raises(ValueError, match=r"which='last' is not available; allowed: final, best"):
        store.check_which("last", "merge")
