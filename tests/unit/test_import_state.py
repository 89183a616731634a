"""Importing coterie, or any of its modules, changes no process-wide state (issue 15 point 7, issue 17 point 5):
matplotlib's backend is left unchosen and pyplot unimported, torch's global module hooks stay empty, and torch's
global settings, the root logger and the environment are as they were.

Runs in a fresh interpreter, so nothing imported by other tests can mask (or cause) a change."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, logging, os, pkgutil, importlib, sys
import matplotlib, torch
import torch.nn.modules.module as tm

def snapshot():
    return {
        "backend": repr(dict.__getitem__(matplotlib.rcParams, "backend")),
        "pyplot": "matplotlib.pyplot" in sys.modules,
        "hooks": {n: len(getattr(tm, n)) for n in dir(tm) if n.startswith("_global_") and n.endswith("hooks")},
        "threads": torch.get_num_threads(),
        "dtype": str(torch.get_default_dtype()),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "grad": torch.is_grad_enabled(),
        "matmul_precision": torch.get_float32_matmul_precision(),
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "root_logger": [logging.getLogger().level, len(logging.getLogger().handlers)],
        "environ": sorted(os.environ.items()),
    }

before = snapshot()
import coterie
names = ["coterie"]
for info in pkgutil.walk_packages(coterie.__path__, "coterie."):
    importlib.import_module(info.name)
    names.append(info.name)
print(json.dumps({"before": before, "after": snapshot(), "modules": names}))
"""


def test_importing_every_coterie_module_changes_no_process_wide_state() -> None:
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    res = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 0, res.stderr[-3000:]
    out = json.loads(res.stdout.strip().splitlines()[-1])
    before, after = out["before"], out["after"]
    # the walk really imported the library: subpackages and the modules that used to set state
    for name in (
        "coterie.ensemble.executors",
        "coterie.report.curves",
        "coterie.report._style",
        "coterie.neurons.plots",
        "coterie.experiments.robustness",
        "coterie.cli",
    ):
        assert name in out["modules"], name
    assert after["hooks"] and all(n == 0 for n in after["hooks"].values()), after["hooks"]
    assert not after["pyplot"], "matplotlib.pyplot was imported"
    for key in before:
        assert after[key] == before[key], (key, before[key], after[key])
