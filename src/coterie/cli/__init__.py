"""The ``coterie`` command (Typer): run, list, demo, sweep, report, eval, attack, export.

:data:`app` is the Typer application (the ``coterie`` entry point). Each command group lives in its own module; the
commands are registered here, in the order ``coterie --help`` lists them. :mod:`coterie.cli.support` holds the
plumbing the commands share (exit codes, ``--set`` parsing, device checks).
"""

from coterie.cli import demo, listing, report, reuse, run, sweep
from coterie.cli.app import app

app.command()(run.run)
app.command("list")(listing.list_cmd)
app.command()(demo.demo)
app.command()(sweep.sweep)
app.command()(report.report)
app.command("eval")(reuse.eval_cmd)
app.command()(reuse.attack)
app.command()(reuse.export)

__all__ = ["app", "main"]


def main() -> None:  # pragma: no cover
    """Run the ``coterie`` command line."""
    app()
