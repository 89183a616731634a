"""``coterie demo``: co-learning on MNIST-1D at three couplings, with a table of test figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from coterie.cli.app import console, setup_logging


def demo(
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("runs/demo"),
    epochs: Annotated[int, typer.Option(help="epochs per run")] = 60,
    seed: int = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Co-learning on MNIST-1D: N = 5 MLP members at β̄ ∈ {−1, 0, +0.5}; prints a table of test figures."""
    from coterie.cli.support import exit_codes
    from coterie.experiments.demo import run_demo

    setup_logging(verbose)
    console.print(f"coterie demo: co-learning, 5 MLP members on MNIST-1D, {epochs} epochs per β̄ → {out}")
    with exit_codes(verbose):  # e.g. OUT holds a demo of other --epochs: exit 2, nothing changed
        rows = run_demo(out, epochs, seed)
    table = Table(title="co-learning on MNIST-1D (test split, N = 5, β = β̄/N)")
    for col in ("β̄", "member acc (mean ± std)", "ensemble acc", "mean JS d(n_i,n_j)", "ECE", "seconds"):
        table.add_column(col, justify="right")
    for r in rows:
        table.add_row(
            f"{r['beta_bar']:+g}",
            f"{r['member_acc_mean']:.3f} ± {r['member_acc_std']:.3f}",
            f"{r['ensemble_acc']:.3f}",
            f"{r['mean_js']:.3f}",
            f"{r['ece']:.3f}",
            f"{r['seconds']:.0f}",
        )
    console.print(table)
