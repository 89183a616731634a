"""A run directory: config.yaml, metrics.jsonl, results.json, checkpoints/*.safetensors, *.png.

Every write is atomic (write to a temporary file in the same directory, then ``os.replace``), so a killed run never
leaves a half-written results file or checkpoint behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from coterie.utils.io import atomic_write_text, to_jsonable


@dataclass
class RunDir:
    """The files of one run. ``path`` is created on first write."""

    path: Path
    # per key: (metrics.jsonl's (size, mtime) when read, the key values recorded); re-read whenever the file changed
    # otherwise than through this object, so a truncation through another RunDir (the Trainer's, on resume) is seen
    _recorded: dict[tuple[str, ...], tuple[tuple[int, int], set[str | None]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def results_path(self) -> Path:
        return self.path / "results.json"

    @property
    def checkpoint_dir(self) -> Path:
        return self.path / "checkpoints"

    def write_config(self, config: dict[str, Any]) -> None:
        """Write the configuration actually used to ``config.yaml``."""
        atomic_write_text(self.path / "config.yaml", yaml.safe_dump(to_jsonable(config), sort_keys=False))

    def log_metrics(self, record: dict[str, Any], key: tuple[str, ...] = ()) -> None:
        """Append one JSON object to ``metrics.jsonl``.

        ``key``: fields that identify the record (e.g. ``("stage", "variant")``); a record whose key values are
        already recorded is not written again. Experiments that redo a stage on resume log with a key, so a resumed
        run's log equals an uninterrupted one's. A record lacking a key field is always written.
        """
        line = to_jsonable(record)
        ident = _identity(line, key)
        seen = self._recorded_keys(key) if ident is not None else None
        if seen is not None and ident in seen:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
        if seen is not None:
            seen.add(ident)
            self._recorded[key] = (self._stamp(), seen)

    def _recorded_keys(self, key: tuple[str, ...]) -> set[str | None]:
        """The ``key`` identities of the records in ``metrics.jsonl`` (cached while the file is unchanged)."""
        stamp = self._stamp()
        cached = self._recorded.get(key)
        if cached is None or cached[0] != stamp:
            cached = (stamp, {_identity(r, key) for r in self.read_metrics()} - {None})
            self._recorded[key] = cached
        return cached[1]

    def _stamp(self) -> tuple[int, int]:
        """metrics.jsonl's (size, mtime in ns); (0, 0) when it does not exist."""
        if not self.metrics_path.exists():
            return (0, 0)
        st = self.metrics_path.stat()
        return (st.st_size, st.st_mtime_ns)

    def read_metrics(self) -> list[dict[str, Any]]:
        """All records of ``metrics.jsonl`` (a truncated last line from a killed run is skipped)."""
        if not self.metrics_path.exists():
            return []
        out = []
        for line in self.metrics_path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return out

    def truncate_metrics(self, keep: Any) -> None:
        """Keep only the records for which ``keep(record)`` is true (used when resuming)."""
        records = [r for r in self.read_metrics() if keep(r)]
        atomic_write_text(self.metrics_path, "".join(json.dumps(r) + "\n" for r in records))

    def write_results(self, results: dict[str, Any]) -> None:
        """Write the final figures to ``results.json``."""
        atomic_write_text(self.results_path, json.dumps(to_jsonable(results), indent=2))

    def read_results(self) -> dict[str, Any] | None:
        if not self.results_path.exists():
            return None
        return json.loads(self.results_path.read_text())

    def save_figure(self, fig: Any, name: str) -> Path:
        """Save a matplotlib figure as ``name`` (PNG) in the run directory (a pyplot-made figure is also closed)."""
        from coterie.utils.figures import save_figure

        self.path.mkdir(parents=True, exist_ok=True)
        return save_figure(fig, self.path / name, dpi=110, bbox_inches="tight")


def _identity(record: dict[str, Any], key: tuple[str, ...]) -> str | None:
    """The JSON of ``record``'s ``key`` values, or None when ``key`` is empty or a key field is missing."""
    return json.dumps([record[k] for k in key]) if key and all(k in record for k in key) else None
