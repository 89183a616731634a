"""Plumbing shared by the ``coterie`` commands: exit codes, ``--set`` assignments, the device check.

Exit codes (stated in ``coterie --help`` and the README): 0 done; 1 the run failed (an exception while working: one
line, the traceback with ``--verbose``); 2 bad input or usage (nothing was done: an invalid config or option, a run
directory holding another configuration, a corrupt sweep database, CUDA asked for where there is none).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console

from coterie.utils.errors import InputError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2

err_console = Console(stderr=True)
log = logging.getLogger(__name__)


def say_error(message: str) -> None:
    """Print ``message`` in red on stderr as it is (no markup, no wrapping: a long line stays one line)."""
    err_console.print(message, style="red", markup=False, highlight=False, soft_wrap=True)


def bad_input_types() -> tuple[type[BaseException], ...]:
    """Exception classes that mean bad input (exit 2): :class:`InputError` (which ``ConfigError``, ``SweepError`` and
    ``RunDirError`` derive from) and the sweep database's ``StoreError``; imported lazily (``coterie --help`` stays
    fast)."""
    from coterie.sweep.store import StoreError

    return (InputError, StoreError)


@contextmanager
def exit_codes(verbose: bool = False, context: str = "") -> Iterator[None]:
    """Turn exceptions into the command's exit code: bad input → one line, exit 2; anything else → one line
    ``failed: Type: message`` (with the traceback under ``verbose``), exit 1. ``typer.Exit`` passes through."""
    try:
        yield
    except (typer.Exit, typer.Abort, KeyboardInterrupt):
        raise
    except Exception as e:
        prefix = f"{context}: " if context else ""
        if isinstance(e, bad_input_types()):
            say_error(f"{prefix}{e}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        if verbose:
            err_console.print(traceback.format_exc(), markup=False, highlight=False, soft_wrap=True)
        first = (str(e).strip().splitlines() or [""])[0]
        hint = "" if verbose else " (--verbose shows the traceback)"
        say_error(f"{prefix}failed: {type(e).__name__}: {first}{hint}")
        raise typer.Exit(EXIT_FAILED) from None


def parse_assignments(items: Sequence[str]) -> dict[str, Any]:
    """``["a.b=1", "c=[1, 2]"]`` → ``{"a.b": 1, "c": [1, 2]}``; each value is read as a YAML scalar or flow
    collection (``-0.5``, ``true``, ``[50,50]``, ``{k: v}``; ``null`` clears a field).

    Raises:
        InputError: an item without ``=``, an empty or malformed key, or a value that is not valid YAML.
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key or any(not part for part in key.split(".")):
            raise InputError(f"--set {item!r}: expected key.path=value, e.g. --set objective.params.beta=-0.5")
        try:
            out[key] = yaml.safe_load(text) if text.strip() else ""
        except yaml.YAMLError as e:
            raise InputError(f"--set {item!r}: the value is not valid YAML ({str(e).splitlines()[0]})") from None
    return out


def is_sweep_file(path: Path) -> bool:
    """Whether ``path`` is a YAML mapping with a top-level ``sweep`` section (unreadable files: ``False``, the
    config loader reports them)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return False
    return isinstance(raw, dict) and "sweep" in raw


def check_device(device: str) -> None:
    """Raise :class:`InputError` (one line) when ``device`` cannot be used here, e.g. ``cuda`` without CUDA."""
    from coterie.utils.device import resolve_device

    try:
        resolve_device(device)
    except (ValueError, RuntimeError) as e:
        if "CUDA is not available" in str(e):
            raise InputError(
                f"device {device!r} requested but CUDA is not available on this machine "
                "(torch.cuda.is_available() is False); use --device cpu or auto"
            ) from None
        raise InputError(f"device {device!r}: {str(e).splitlines()[0]}; allowed: auto, cpu, cuda[:N]") from None
