"""Selection runs of the robustness recipe at CI size: ``attack.eval_split: val`` measures clean and attacked
accuracy on validation data, candidates labelled ``<method>@<value>`` feed the selection rule, and DVERGE's
cross-entropy warm-up counts inside the common epoch budget."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import coterie
from coterie.config import ConfigError, load_config
from coterie.experiments import registry
from coterie.experiments.build import build_splits
from coterie.experiments.robustness import clean_accuracy, scale_splits
from coterie.experiments.robustness.select import select
from coterie.utils.rundir import RunDir

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _raw() -> dict:
    raw = yaml.safe_load((CONFIGS / "robustness-ci.yaml").read_text())
    methods = [
        {"label": "unprotected", "objective": {"name": "independent"}},
        {
            "label": "DVERGE@0.05",
            "objective": {"name": "dverge", "params": {"eps": 0.05, "steps": 2, "warmup_epochs": 1}},
        },
        {"label": "PARL@0.5", "objective": {"name": "parl", "params": {"gamma2": 0.5, "layers": 2}}},
    ]
    attack = {"names": ["bim"], "eps": [0.03], "whitebox": False, "steps": 2, "n_eval": 24, "eval_split": "val"}
    return {
        **raw,
        "epochs": 2,
        "max_steps_per_epoch": 2,
        "methods": methods,
        "parl_label": "PARL@0.5",
        "parl_ablation": [],
        "attack": attack,
        "cka": False,
    }


def test_selection_run_on_validation(tmp_path: Path) -> None:
    cfg = load_config(_raw())
    rd = RunDir(tmp_path)
    rd.write_config(cfg.model_dump())
    res = registry.get("robustness").run(cfg, rd)
    rd.write_results(res)
    # clean accuracy is the validation split's, recomputed independently from the saved ensembles
    splits, _ = scale_splits(build_splits(cfg.data, cfg.seed), cfg.input_scaling)
    loaded = coterie.load(tmp_path)
    for label in ("unprotected", "DVERGE@0.05"):
        want = clean_accuracy(loaded[label], splits.val.x, splits.val.y)["vote"]
        got = [
            r["accuracy"]
            for r in res["records"]
            if r["method"] == label and r["setting"] == "clean" and r["rule"] == "vote"
        ]
        assert got == [pytest.approx(want)]
    # DVERGE's budget: 1 epoch of cross-entropy warm-up then 1 of DVERGE = the 2 epochs of every other method
    assert res["repeats"][0]["train"]["DVERGE@0.05"]["epochs"] == 2 == res["repeats"][0]["train"]["PARL@0.5"]["epochs"]
    epochs = [json.loads(line) for line in (tmp_path / "repeat0" / "DVERGE@0.05" / "metrics.jsonl").open()]
    assert [e["train_layer"] >= 0 for e in epochs] == [False, True]  # layer -1: the warm-up epoch is plain CE
    chosen, cands, _ = select(json.loads((tmp_path / "results.json").read_text())["records"], tolerance=1.0)
    assert {m: c.value for m, c in chosen.items()} == {"DVERGE": "0.05", "PARL": "0.5"}
    assert len(cands) == 2


def test_eval_split_is_validated() -> None:
    raw = _raw()
    raw["attack"]["eval_split"] = "train"
    with pytest.raises((ConfigError, ValueError), match="eval_split"):
        load_config(raw)
