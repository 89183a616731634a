"""A finished sweep as a tidy table: :func:`coterie.analysis.runs_frame` over the runs in ``results.sqlite``.

The table builder itself lives in :mod:`coterie.analysis.frame` (it only needs rows); reading the store is the
sweep layer's job, so the analyses never import the sweep machinery.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from coterie.analysis.frame import runs_frame
from coterie.sweep.store import DB_NAME, ResultStore


def load_sweep_frame(sweep_dir: str | Path) -> pd.DataFrame:
    """:func:`~coterie.analysis.frame.runs_frame` of the finished runs in ``sweep_dir/results.sqlite`` (read-only).

    Raises :class:`~coterie.sweep.store.StoreError` for a corrupt or foreign file.
    """
    store = ResultStore(Path(sweep_dir) / DB_NAME)
    store.read_meta()  # raises StoreError for a corrupt or foreign file
    return runs_frame(store.finished())
