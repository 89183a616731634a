"""Member-parallel runs of an experiment config, launched with torchrun (``torch.distributed.run``).

``coterie run CONFIG --nproc K`` writes the validated configuration to ``OUT/workers/config.yaml`` and starts K
workers with torchrun, as ``torchrun --standalone --nproc-per-node K -m coterie.cli run OUT/workers/config.yaml
--out OUT`` would. Each worker sees torchrun's environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
``TORCHELASTIC_RUN_ID``, ...), joins the process group and trains its shard of the members
(:mod:`coterie.training.distributed`); rank 0 writes the run directory ``OUT``, rank r > 0 a copy in
``OUT/workers/rank{r}``; each records its torchrun environment in ``OUT/workers/process-{r}.json``. Starting
``torchrun ... -m coterie.cli run CONFIG --out OUT`` directly runs the same workers.

torchrun is called in this process (:func:`torch.distributed.run.run`); it stops the other workers as soon as one
fails, and its :class:`~torch.distributed.elastic.multiprocessing.errors.ChildFailedError` becomes one
:class:`WorkerFailedError` line (the workers' own output has already gone to the terminal). The signal handlers and
``OMP_NUM_THREADS`` that torchrun sets in the launching process are restored afterwards.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch.distributed as dist
import yaml

from coterie.experiments.runner import run_config
from coterie.training.distributed import env_world_size, init_from_env, shutdown

if TYPE_CHECKING:
    from coterie.experiments.registry import ExperimentConfig

log = logging.getLogger(__name__)

SUPPORTED_EXPERIMENTS = ("train",)
TORCHRUN_ENV = (
    "RANK",
    "LOCAL_RANK",
    "WORLD_SIZE",
    "LOCAL_WORLD_SIZE",
    "TORCHELASTIC_RUN_ID",
    "MASTER_ADDR",
    "MASTER_PORT",
)


class WorkerFailedError(RuntimeError):
    """A worker of a member-parallel run failed; the message names its rank and exit code (or signal)."""


def worker_dir(out: str | Path, rank: int) -> Path:
    """Rank 0 writes the run directory ``out``; rank r > 0 keeps its own copy in ``out/workers/rank{r}``."""
    return Path(out) if rank == 0 else Path(out) / "workers" / f"rank{rank}"


def check_supported(config: ExperimentConfig) -> None:
    """Refuse experiments that cannot be sharded over processes (one line naming the allowed ones)."""
    if config.experiment not in SUPPORTED_EXPERIMENTS:
        raise ValueError(f"member-parallel runs support experiments {SUPPORTED_EXPERIMENTS}, not {config.experiment!r}")


def run_worker(config: ExperimentConfig, out: str | Path) -> dict[str, Any]:
    """Run ``config`` as one process of the member-parallel group that torchrun's environment describes; returns
    this process's results. Records the environment in ``out/workers/process-{rank}.json``."""
    check_supported(config)
    init_from_env(config.device)
    try:
        rank = dist.get_rank()
        record = {k: os.environ.get(k) for k in TORCHRUN_ENV}
        log.info("rank %d of %d (torchrun run id %s)", rank, dist.get_world_size(), record["TORCHELASTIC_RUN_ID"])
        workers = Path(out) / "workers"
        workers.mkdir(parents=True, exist_ok=True)
        (workers / f"process-{rank}.json").write_text(json.dumps(record, indent=1) + "\n")
        results = run_config(config, worker_dir(out, rank))
    except BaseException:
        shutdown(wait_for_peers=False)
        raise
    shutdown()
    return results


def torchrun_args(nproc: int, entry: Sequence[str]) -> list[str]:
    """torchrun's arguments for ``nproc`` local workers running ``python <entry...>`` (e.g. ``-m coterie.cli ...``)."""
    if nproc < 1:
        raise ValueError(f"nproc must be >= 1, got {nproc}")
    if entry and entry[0] == "-m":
        return ["--standalone", "--nproc-per-node", str(nproc), "--module", *entry[1:]]
    return ["--standalone", "--nproc-per-node", str(nproc), *entry]


@contextlib.contextmanager
def _restored_process_state() -> Iterator[None]:
    """Restore the signal handlers and ``OMP_NUM_THREADS`` that torchrun's launcher sets in this process."""
    signals = [getattr(signal, n) for n in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT") if hasattr(signal, n)]
    handlers = {s: signal.getsignal(s) for s in signals}
    omp = os.environ.get("OMP_NUM_THREADS")
    try:
        yield
    finally:
        for s, h in handlers.items():
            with contextlib.suppress(ValueError, TypeError):  # not the main thread / handler not from Python
                signal.signal(s, h)
        if omp is None:
            os.environ.pop("OMP_NUM_THREADS", None)
        else:
            os.environ["OMP_NUM_THREADS"] = omp


def torchrun(entry: Sequence[str], nproc: int) -> None:
    """Run ``python <entry...>`` in ``nproc`` local processes with torchrun (``--standalone``) and wait for them.

    Raises:
        WorkerFailedError: a worker exited with a non-zero code or was killed (torchrun stopped the others).
    """
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import parse_args
    from torch.distributed.run import run as torch_run

    args = parse_args(torchrun_args(nproc, entry))
    with _restored_process_state():
        try:
            torch_run(args)
        except ChildFailedError as e:
            rank, failure = e.get_first_failure()
            how = f"code {failure.exitcode}" if failure.exitcode >= 0 else f"signal {failure.signal_name()}"
            raise WorkerFailedError(
                f"worker rank {rank} of {nproc} exited with {how}; torchrun stopped the others (output above)"
            ) from None


def run_member_parallel(config: ExperimentConfig, out: str | Path, nproc: int) -> dict[str, Any]:
    """Run ``config`` in ``nproc`` torchrun workers (``coterie run CONFIG --nproc K``); returns rank 0's results.

    Every worker loads the validated configuration from ``out/workers/config.yaml``, so all run the same experiment.
    """
    check_supported(config)
    out = Path(out)
    (out / "workers").mkdir(parents=True, exist_ok=True)
    cfg_path = out / "workers" / "config.yaml"
    cfg_path.write_text(yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False))
    torchrun(["-m", "coterie.cli", "run", str(cfg_path), "--out", str(out), "--no-summary"], nproc)  # parent prints
    return json.loads((out / "results.json").read_text())


__all__ = [
    "SUPPORTED_EXPERIMENTS",
    "WorkerFailedError",
    "check_supported",
    "env_world_size",
    "run_member_parallel",
    "run_worker",
    "torchrun",
    "torchrun_args",
    "worker_dir",
]
