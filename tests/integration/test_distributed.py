"""Member-parallel training over torch.distributed (gloo, 2 processes on CPU), launched with torchrun.

Each test starts real worker processes through torchrun (:func:`coterie.experiments.parallel.torchrun`, or
``coterie run --nproc 2``); collectives time out after ``COTERIE_DIST_TIMEOUT`` = 60 s and CLI runs are bounded by a
wall-clock timeout, so a broken collective fails the test instead of hanging CI.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from coterie import CoLearning, Ensemble, Trainer
from coterie.cli import app
from coterie.experiments import parallel
from coterie.training import distributed

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 120

WORKER = textwrap.dedent(
    """
    import os, sys, torch
    from safetensors.torch import save_file
    from coterie import CoLearning, Ensemble, Trainer
    from coterie.training import distributed

    def threads():  # this process's OS threads (Linux), to see that shutdown() leaves none of gloo's behind
        return len(os.listdir("/proc/self/task")) if os.path.isdir("/proc/self/task") else -1

    torch.set_num_threads(1)
    threads_before = threads()
    out, executor, crash = sys.argv[1], sys.argv[2], sys.argv[3] == "crash"
    distributed.init_from_env("cpu")
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(192, 40, generator=g), torch.randint(0, 10, (192,), generator=g)
    ens = Ensemble.from_factory("mlp", 5, seed=3, executor=executor, in_features=40, hidden=(16, 16))
    if crash and torch.distributed.get_rank() == 1:
        raise SystemExit("worker 1 fails on purpose")
    tr = Trainer(ens, CoLearning(beta=-0.3), optimizer="sgd", lr=0.1, epochs=2, batch_size=64, seed=1,
                 device="cpu", progress=False, weight_decay=1e-3)
    tr.fit((x, y), (x[:64], y[:64]))
    if torch.distributed.get_rank() == 0:
        save_file({k: v.contiguous() for k, v in ens.state_dict().items()}, out)
        torch.save([h["train_loss"] for h in tr.history], out + ".losses")
    rank = torch.distributed.get_rank()
    distributed.shutdown()
    with open(f"{out}.threads{rank}", "w") as f:
        f.write(f"{threads_before} {threads()}")
    """
)


def _reference(executor: str) -> tuple[dict[str, torch.Tensor], list]:
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(192, 40, generator=g), torch.randint(0, 10, (192,), generator=g)
    ens = Ensemble.from_factory("mlp", 5, seed=3, executor=executor, in_features=40, hidden=(16, 16))
    tr = Trainer(
        ens,
        CoLearning(beta=-0.3),
        optimizer="sgd",
        lr=0.1,
        epochs=2,
        batch_size=64,
        seed=1,
        device="cpu",
        progress=False,
        weight_decay=1e-3,
    )
    tr.fit((x, y), (x[:64], y[:64]))
    return ens.state_dict(), [h["train_loss"] for h in tr.history]


def _script(tmp_path: Path) -> Path:
    p = tmp_path / "worker.py"
    p.write_text(WORKER)
    return p


def test_shard_bounds_cover_members_once():
    for n in range(1, 9):
        for k in range(1, n + 1):
            owned = [i for r in range(k) for i in range(*distributed.shard_bounds(n, k, r))]
            assert owned == list(range(n))


@pytest.fixture(autouse=True)
def _collective_timeout(monkeypatch):
    monkeypatch.setenv("COTERIE_DIST_TIMEOUT", "60")  # inherited by the workers


@pytest.mark.parametrize("executor", ["loop", "fused"])  # fused: each rank packs its own shard
def test_two_gloo_processes_equal_single_process(tmp_path, executor):
    out = tmp_path / "state.safetensors"
    parallel.torchrun([str(_script(tmp_path)), str(out), executor, "ok"], 2)
    got = load_file(str(out))
    ref, ref_losses = _reference(executor)
    assert got.keys() == ref.keys()
    for k in ref:  # members of both shards trained, synchronised back, and equal to one process
        torch.testing.assert_close(got[k], ref[k], atol=1e-6, rtol=1e-5, msg=k)
    losses = torch.load(str(out) + ".losses")
    torch.testing.assert_close(torch.tensor(losses), torch.tensor(ref_losses), atol=1e-6, rtol=1e-5)
    # shutdown() freed the process group: gloo's worker threads are gone. Kept alive (torch.distributed.nn imported
    # after the group existed held it), they aborted the process at interpreter exit in about one run in four.
    for rank in (0, 1):
        before, after = map(int, (tmp_path / f"state.safetensors.threads{rank}").read_text().split())
        assert after == before, f"rank {rank}: {before} threads before the group, {after} after shutdown"


def test_crashed_worker_fails_the_run_quickly(tmp_path, capfd):
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    t0 = time.monotonic()
    with pytest.raises(parallel.WorkerFailedError, match="rank 1 of 2 exited with code 1") as exc:
        parallel.torchrun([str(_script(tmp_path)), str(tmp_path / "s"), "loop", "crash"], 2)
    assert "\n" not in str(exc.value)  # one line; the worker's own output went to the terminal
    assert "fails on purpose" in capfd.readouterr().err
    assert time.monotonic() - t0 < LIMIT_S  # rank 0, waiting in a collective, was stopped by torchrun
    assert not (tmp_path / "s").exists()
    assert {s: signal.getsignal(s) for s in handlers} == handlers  # torchrun's handlers do not outlive the call


def test_torchrun_args():
    assert parallel.torchrun_args(3, ["-m", "coterie.cli", "run", "c.yaml"]) == [
        "--standalone",
        "--nproc-per-node",
        "3",
        "--module",
        "coterie.cli",
        "run",
        "c.yaml",
    ]
    assert parallel.torchrun_args(2, ["w.py", "a"]) == ["--standalone", "--nproc-per-node", "2", "w.py", "a"]
    with pytest.raises(ValueError, match="nproc must be >= 1"):
        parallel.torchrun_args(0, ["w.py"])


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "coterie.cli", "run", *args], capture_output=True, text=True, timeout=LIMIT_S * 4
    )


@pytest.mark.slow
def test_cli_nproc_worker_failure_is_one_line_exit_1(tmp_path):
    res = _cli(
        str(ROOT / "configs/colearn-mnist1d-ci.yaml"),
        "--out",
        str(tmp_path / "run"),
        "--nproc",
        "2",
        "--device",
        "cpu",
        "--set",
        "model.kwargs.hidden=[-1]",
    )  # a valid config whose model cannot be built: every worker fails once started
    assert res.returncode == 1, res.stderr[-3000:]
    last = res.stderr.strip().splitlines()[-1]
    assert "WorkerFailedError: worker rank" in last and "of 2 exited with code" in last
    assert "negative dimension" in res.stderr  # the worker's own message


def test_cli_nproc_above_ensemble_size_is_bad_usage_and_writes_nothing(tmp_path):
    """--nproc 4 for 3 members: refused before torchrun starts (one line, exit 2), OUT never created."""
    out = tmp_path / "run"
    config = str(ROOT / "configs/colearn-mnist1d-ci.yaml")  # 3 members
    res = CliRunner().invoke(app, ["run", config, "--out", str(out), "--nproc", "4", "--device", "cpu"])
    assert res.exit_code == 2, res.output
    text = res.output.replace("\n", " ")
    assert "--nproc 4 for 3 members" in text and "at most one process per member" in text
    assert "Traceback" not in res.output and "WorkerFailedError" not in res.output
    assert not out.exists()


@pytest.mark.slow
def test_cli_run_nproc_2_goes_through_torchrun_and_equals_one_process(tmp_path):
    out = tmp_path / "run"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "coterie.cli",
            "run",
            str(ROOT / "configs/colearn-mnist1d-ci.yaml"),
            "--out",
            str(out),
            "--nproc",
            "2",
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert res.returncode == 0, res.stderr[-3000:]
    assert res.stdout.count("finished train") == 1, res.stdout  # the parent's table only, not one per rank too
    for name in ("config.yaml", "metrics.jsonl", "results.json"):
        assert (out / name).exists(), name
    # the workers were started by torchrun: its environment, one run id for the group, local ranks 0 and 1
    env = [json.loads((out / "workers" / f"process-{r}.json").read_text()) for r in (0, 1)]
    assert [e["RANK"] for e in env] == ["0", "1"] and [e["LOCAL_RANK"] for e in env] == ["0", "1"]
    assert {e["WORLD_SIZE"] for e in env} == {"2"}
    run_ids = {e["TORCHELASTIC_RUN_ID"] for e in env}
    assert len(run_ids) == 1 and run_ids != {None}
    assert (out / "workers" / "rank1" / "results.json").exists()
    assert list((out / "checkpoints").glob("*.safetensors"))
    single = tmp_path / "single"
    res1 = subprocess.run(
        [
            sys.executable,
            "-m",
            "coterie.cli",
            "run",
            str(ROOT / "configs/colearn-mnist1d-ci.yaml"),
            "--out",
            str(single),
            "--device",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=580,
    )
    assert res1.returncode == 0, res1.stderr[-3000:]
    got, ref = (json.loads((d / "results.json").read_text())["test"] for d in (out, single))
    for k in ("ens_acc_mean", "nll", "mean_js"):
        assert got[k] == pytest.approx(ref[k], rel=1e-5, abs=1e-6), k
