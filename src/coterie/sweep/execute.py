"""Run one grid point in a worker (a pool process, a Ray task, or the calling process)."""

from __future__ import annotations

import logging
import os
import traceback
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def execute_run(
    config: dict[str, Any],
    run_dir: str,
    db_path: str | None = None,
    meta: dict[str, Any] | None = None,
    threads: int | None = None,
) -> dict[str, Any]:
    """Validate ``config``, run it into ``run_dir`` (resuming from checkpoints, or returning a finished run's
    results) and, with ``db_path``, record it there as soon as it finishes — so a killed sweep driver loses no
    finished run.

    Returns:
        ``{"ok": True, "results": {...}}`` or ``{"ok": False, "error": "traceback"}`` (errors never escape, so one
        failing grid point does not stop the others).
    """
    import torch

    from coterie.config import validate_config
    from coterie.experiments.fingerprint import RunDirError, RunDirMismatch
    from coterie.experiments.runner import run_config

    if threads:
        torch.set_num_threads(threads)
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        cfg = validate_config(config)
        results = run_config(cfg, Path(run_dir))
    except RunDirMismatch as e:  # the directory holds another configuration: never resumed, never recorded finished
        return {"ok": False, "error": f"{e.path} holds another configuration ({e.summary}); left as it was"}
    except RunDirError as e:
        return {"ok": False, "error": str(e)}
    except Exception:
        return {"ok": False, "error": traceback.format_exc()}
    if db_path is not None and meta is not None:
        from coterie.sweep.store import ResultStore

        ResultStore(Path(db_path)).record_finished(
            meta["run_id"], meta["name"], meta["overrides"], config, meta["rel_dir"], results
        )
    return {"ok": True, "results": results}
