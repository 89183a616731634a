"""``coterie sweep CONFIG``: a grid of configs, recorded in OUT/results.sqlite and resumable."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from coterie.cli.app import DeviceOption, SetOption, console, err_console, resolve_config_path, setup_logging


def sweep(
    config: Annotated[str, typer.Argument(help="sweep YAML (a config with a `sweep: {grid: ...}` section)")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="sweep directory")] = None,  # noqa: UP045
    workers: Annotated[int, typer.Option("--workers", "-w", min=1, help="runs at once")] = 1,
    backend: Annotated[str, typer.Option(help="local (process pool) or ray")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: local instance)")] = None,  # noqa: UP045
    device: DeviceOption = None,
    sets: SetOption = None,
    threads: Annotated[int, typer.Option(help="torch threads per run (0: torch default)")] = 1,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run a grid of configs; every finished run is recorded in OUT/results.sqlite and skipped when re-run.

    --set changes the base configuration (a grid field cannot be set: change the grid).

    A grid point whose run directory holds another configuration stops the sweep before any run starts (exit 2).
    """
    from coterie.cli.support import check_device, exit_codes, parse_assignments
    from coterie.sweep import SweepError, load_sweep, run_sweep
    from coterie.utils.errors import InputError

    setup_logging(verbose)
    if backend not in ("local", "ray"):
        err_console.print(f"[red]--backend must be local or ray, got {backend!r}")
        raise typer.Exit(2)
    path = resolve_config_path(config)
    with exit_codes(verbose):
        try:
            spec = load_sweep(path)
        except SweepError as e:
            raise SweepError(f"{path}: {e}") from None
        overrides = parse_assignments(sets or [])
        in_grid = sorted(k for k in overrides if k in spec.grid)
        if in_grid:
            raise InputError(f"--set {', '.join(in_grid)}: a grid field of this sweep; change sweep.grid instead")
        if device is not None:
            overrides["device"] = device.value
        check_device(str(overrides.get("device", spec.base.get("device", "auto"))))
        from coterie.experiments.extras import require_sweep_extras

        require_sweep_extras(backend, spec.base, overrides)  # a missing optional package: one line, exit 2
        out = out or Path("runs") / spec.name
        try:
            outcome = run_sweep(
                spec,
                out,
                workers=workers,
                backend=backend,
                address=address,  # type: ignore[arg-type]
                threads_per_worker=threads or None,
                overrides=overrides or None,
            )
        except SweepError as e:
            raise SweepError(f"{path}: {e}") from None
    table = Table(title=f"sweep {spec.name} → {out}")
    for col in ("runs", "finished before", "started now", "failed", "held by another sweep"):
        table.add_column(col, justify="right")
    table.add_row(
        str(outcome.total),
        str(outcome.skipped),
        str(len(outcome.started)),
        str(len(outcome.failed)),
        str(len(outcome.busy)),
    )
    console.print(table)
    if outcome.failed:
        raise typer.Exit(1)
