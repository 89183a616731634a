"""``coterie list``: the registered models, objectives, datasets, experiments and the bundled configs."""

from __future__ import annotations

from rich.table import Table

from coterie.cli.app import configs_dir, console


def list_cmd() -> None:
    """List models, objectives, datasets, experiments and bundled configs."""
    from coterie import data, models, objectives
    from coterie.experiments import registry

    table = Table(show_header=True)
    table.add_column("kind")
    table.add_column("names")
    table.add_row("models", ", ".join(models.names()))
    table.add_row("objectives", ", ".join(objectives.names()))
    table.add_row("datasets", ", ".join(data.names()))
    table.add_row("experiments", ", ".join(registry.names()))
    bundled = sorted(p.stem for p in configs_dir().glob("*.yaml"))
    table.add_row("configs", ", ".join(bundled) or "(none found)")
    console.print(table)
