"""ldnn's eval.schedule reaches the arms' Trainer: cosine anneals the epoch rate as ½(1 + cos(π e / E)) · lr."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import yaml

from coterie.experiments.ldnn.arms import arm_trainer
from coterie.experiments.ldnn.config import LdnnConfig
from coterie.experiments.ldnn.task import LdnnTask

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_arm_schedule(schedule: str) -> None:
    raw = yaml.safe_load((ROOT / "configs/ldnn-henonheiles-ci.yaml").read_text())
    raw["models"] = ["nn"]
    raw["eval"].update(schedule=schedule, seeds=1)
    cfg = LdnnConfig.model_validate(raw)
    task = LdnnTask(cfg, torch.device("cpu"))
    steps_per_epoch = math.ceil(task.train[0].shape[0] / cfg.eval.batch_size)
    ev = cfg.eval.model_copy(update={"steps": 4 * steps_per_epoch})
    trainer = arm_trainer([task.build("nn", "sin")], task, ev, 0, progress=False)
    lrs = [rec["lr"] for rec in trainer.fit(task.train)]
    expect = [ev.lr * (0.5 * (1 + math.cos(math.pi * e / 4)) if schedule == "cosine" else 1.0) for e in range(4)]
    assert lrs == pytest.approx(expect)
