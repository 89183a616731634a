"""Rich progress bars that stay quiet when the output is not a terminal (CI, logs, worker processes)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)


def _attached() -> bool:
    return sys.stderr.isatty()


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    """A ``rich.progress.Progress`` on stderr; disabled unless ``enabled`` and stderr is a terminal.

    Usage::

        with progress_bar() as bar:
            task = bar.add_task("epochs", total=10)
            for epoch in range(10):
                bar.update(task, advance=1, description=f"epoch {epoch} acc 0.9")
    """
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        disable=not (enabled and _attached()),
        transient=False,
    )
    with progress:
        yield progress
