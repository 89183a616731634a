"""The ``coterie`` command: run, list, demo (and sweep, report)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, help="coterie: neural-network diversity experiments.")
console = Console()
err_console = Console(stderr=True)


def _setup_logging(verbose: bool) -> None:
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
    """A path as given, or the name of a bundled config (``colearn-mnist1d-ci``)."""
    p = Path(config)
    if p.exists():
        return p
    for cand in (configs_dir() / config, configs_dir() / f"{config}.yaml"):
        if cand.exists():
            return cand
    raise typer.BadParameter(f"config {config!r} not found (neither a file nor a bundled config; see `coterie list`)")


@app.callback()
def _startup() -> None:
    """Runs before every command: process-wide settings that are the application's to make."""
    from coterie.utils.allocator import keep_freed_memory_from_env

    keep_freed_memory_from_env()  # reuse freed CPU buffers (coterie.utils.allocator; COTERIE_KEEP_FREED_MEMORY=0: off)


def _default_out(stem: str) -> Path:
    return Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


@app.command()
def run(
    config: Annotated[str, typer.Argument(help="YAML config file or bundled config name")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="run directory")] = None,  # noqa: UP045
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    data_dir: Annotated[Optional[Path], typer.Option(help="folder with user-provided data (CIFAR)")] = None,  # noqa: UP045
    data_file: Annotated[Optional[Path], typer.Option(help="a data file (GEO series matrix, CSV)")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="override the config's seed")] = None,  # noqa: UP045
    nproc: Annotated[int, typer.Option("--nproc", min=1, help="member-parallel processes (gloo CPU, nccl CUDA)")] = 1,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run one experiment config into a run directory (config.yaml, metrics.jsonl, results.json, checkpoints, PNGs).

    With ``--nproc K`` (or under torchrun) the members are trained in K processes (coterie.training.distributed).
    """
    from coterie.config import ConfigError, load_config, with_overrides
    from coterie.experiments.runner import run_config

    _setup_logging(verbose)
    path = resolve_config_path(config)
    try:
        cfg = load_config(path)
        overrides: dict[str, object] = {"device": device}
        if seed is not None:
            overrides["seed"] = seed
        if data_dir is not None:
            overrides["data.data_dir"] = str(data_dir)
        if data_file is not None:
            if "data_file" not in type(cfg).model_fields:
                raise ConfigError(f"experiment {cfg.experiment!r} takes no data_file")
            overrides["data_file"] = str(data_file)
        cfg = with_overrides(cfg, overrides)
    except ConfigError as e:
        err_console.print(f"[red]{path}: {e}")
        raise typer.Exit(2) from None
    out = out or _default_out(path.stem)
    from coterie.training import distributed

    parallel = nproc > 1 or distributed.env_world_size() > 1
    if parallel and cfg.experiment not in distributed.SUPPORTED_EXPERIMENTS:
        err_console.print(f"[red]--nproc/torchrun supports experiments {distributed.SUPPORTED_EXPERIMENTS} only")
        raise typer.Exit(2)
    try:
        if distributed.env_world_size() > 1:  # a worker started by torchrun
            results = distributed.run_worker(cfg, out)
        elif nproc > 1:
            results = distributed.run_member_parallel(cfg, out, nproc)
        else:
            results = run_config(cfg, out)
    except distributed.WorkerFailedError as e:
        err_console.print(f"[red]{e}")
        raise typer.Exit(1) from None
    console.print(f"[green]finished[/] {cfg.experiment} → {out}")
    _print_results_summary(results)


def _print_results_summary(results: dict) -> None:
    table = Table(title="results", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    for section in ("val", "test"):
        for k, v in (results.get(section) or {}).items():
            if isinstance(v, float):
                table.add_row(f"{section}.{k}", f"{v:.4f}")
    for k, v in results.items():
        if isinstance(v, float) and k != "wall_seconds":
            table.add_row(k, f"{v:.4f}")
    if "wall_seconds" in results:
        table.add_row("wall_seconds", f"{results['wall_seconds']:.1f}")
    console.print(table)


@app.command("list")
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


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", "-o")] = Path("runs/demo"),
    epochs: Annotated[int, typer.Option(help="epochs per run")] = 60,
    seed: int = 0,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Co-learning on MNIST-1D: N = 5 MLP members at β̄ ∈ {−1, 0, +0.5}; prints a table of test figures."""
    from coterie.experiments.demo import run_demo

    _setup_logging(verbose)
    console.print(f"coterie demo: co-learning, 5 MLP members on MNIST-1D, {epochs} epochs per β̄ → {out}")
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


@app.command()
def sweep(
    config: Annotated[str, typer.Argument(help="sweep YAML (a config with a `sweep: {grid: ...}` section)")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="sweep directory")] = None,  # noqa: UP045
    workers: Annotated[int, typer.Option("--workers", "-w", help="runs at once")] = 1,
    backend: Annotated[str, typer.Option(help="local (process pool) or ray")] = "local",
    address: Annotated[Optional[str], typer.Option(help="Ray cluster address (default: local instance)")] = None,  # noqa: UP045
    device: Annotated[str, typer.Option(help="auto, cpu or cuda")] = "auto",
    threads: Annotated[int, typer.Option(help="torch threads per run (0: torch default)")] = 1,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run a grid of configs; every finished run is recorded in OUT/results.sqlite and skipped when re-run."""
    from coterie.sweep import StoreError, SweepError, load_sweep, run_sweep

    _setup_logging(verbose)
    if backend not in ("local", "ray"):
        err_console.print(f"[red]--backend must be local or ray, got {backend!r}")
        raise typer.Exit(2)
    path = resolve_config_path(config)
    try:
        spec = load_sweep(path)
    except SweepError as e:
        err_console.print(f"[red]{path}: {e}")
        raise typer.Exit(2) from None
    out = out or Path("runs") / spec.name
    try:
        outcome = run_sweep(spec, out, workers=workers, backend=backend, address=address,  # type: ignore[arg-type]
                            threads_per_worker=threads or None,
                            overrides={"device": device} if device != "auto" else None)
    except SweepError as e:
        err_console.print(f"[red]{path}: {e}")
        raise typer.Exit(2) from None
    except StoreError as e:
        err_console.print(f"[red]{e}")
        raise typer.Exit(3) from None
    table = Table(title=f"sweep {spec.name} → {out}")
    for col in ("runs", "finished before", "started now", "failed", "held by another sweep"):
        table.add_column(col, justify="right")
    table.add_row(str(outcome.total), str(outcome.skipped), str(len(outcome.started)), str(len(outcome.failed)),
                  str(len(outcome.busy)))
    console.print(table)
    if outcome.failed:
        raise typer.Exit(1)


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="a run directory or a sweep directory")],
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Write DIR/report.html (self-contained: embedded figures, tables, configuration) and DIR/summary.csv."""
    from coterie.report.html import ReportError, write_report

    _setup_logging(verbose)
    try:
        html_path, csv_path = write_report(directory)
    except ReportError as e:
        err_console.print(f"[red]{e}")
        raise typer.Exit(2) from None
    console.print(f"[green]wrote[/] {html_path} and {csv_path}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
