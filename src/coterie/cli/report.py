"""``coterie report DIR``: a self-contained report.html and summary.csv for a run or a sweep directory."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from coterie.cli.app import console, setup_logging


def report(
    directory: Annotated[Path, typer.Argument(help="a run directory or a sweep directory")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Write DIR/report.html (self-contained: embedded figures, tables, configuration) and DIR/summary.csv."""
    from coterie.cli.support import exit_codes
    from coterie.report.html import ReportError
    from coterie.report.write import write_report
    from coterie.utils.errors import InputError

    setup_logging(verbose)
    with exit_codes(verbose):  # bad input (a corrupt results.sqlite too): one line, exit 2; a failure: exit 1
        try:
            html_path, csv_path = write_report(directory)
        except ReportError as e:  # nothing to report in DIR: bad input
            raise InputError(str(e)) from None
    console.print(f"[green]wrote[/] {html_path} and {csv_path}")
