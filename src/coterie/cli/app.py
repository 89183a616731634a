"""The ``coterie`` Typer application and what its commands share: consoles, logging, the ``--version`` option,
bundled-config lookup and the common options (``--set``, ``--device``).

Each command lives in its own module of :mod:`coterie.cli`, which registers it on :data:`app`.
"""

from __future__ import annotations

import logging
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler

APP_HELP = (
    "coterie: neural-network diversity experiments.\n\n"
    "Exit codes: 0 done; 1 the run failed (one line; the traceback with --verbose); 2 bad input or usage, nothing "
    "done (an invalid config, option or --set value; a run directory holding another configuration; a corrupt sweep "
    "database; --device cuda without CUDA; a sweep file given to `run`)."
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=APP_HELP)
console = Console()
err_console = Console(stderr=True)


def setup_logging(verbose: bool) -> None:
    """Log to stderr through rich: INFO, or DEBUG with ``--verbose``."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_path=False)],
        force=True,
    )


def configs_dir() -> Path:
    """The package's bundled ``coterie/configs`` folder (shipped in the wheel), else ``./configs``."""
    from importlib.resources import files

    bundled = Path(str(files("coterie") / "configs"))
    return bundled if bundled.is_dir() else Path("configs")


def resolve_config_path(config: str) -> Path:
    """A file path as given, or the name of a bundled config (``colearn-mnist1d-ci``). Only files count: a folder
    named like a bundled config (e.g. the run directory ``--out colearn-mnist1d-ci``) does not hide it."""
    p = Path(config)
    if p.is_file():
        return p
    for cand in (configs_dir() / config, configs_dir() / f"{config}.yaml"):
        if cand.is_file():
            return cand
    raise typer.BadParameter(f"config {config!r} not found (neither a file nor a bundled config; see `coterie list`)")


class DeviceChoice(str, Enum):
    """``--device``: ``auto`` picks CUDA when available, else the CPU."""

    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"


def _print_version(value: bool) -> None:
    if value:
        from coterie import __version__

        console.print(f"coterie {__version__}", markup=False, highlight=False)
        raise typer.Exit(0)


@app.callback()
def _startup(
    version: Annotated[
        bool, typer.Option("--version", callback=_print_version, is_eager=True, help="print the version and exit")
    ] = False,
) -> None:
    """Runs before every command: process-wide settings that are the application's to make."""
    from coterie.utils.allocator import keep_freed_memory_from_env

    keep_freed_memory_from_env()  # reuse freed CPU buffers (coterie.utils.allocator; COTERIE_KEEP_FREED_MEMORY=0: off)


SetOption = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--set", help="override a config field: --set objective.params.beta=-0.5 (a YAML value; repeatable)"),
]
DeviceOption = Annotated[
    Optional[DeviceChoice],  # noqa: UP045
    typer.Option(help="where to run (default: the config's device, auto); cuda without CUDA is an error (exit 2)"),
]
