"""``coterie run CONFIG``: one experiment config into a run directory (resume, --restart, --nproc, torchrun)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from coterie.cli.app import DeviceChoice, DeviceOption, SetOption, console, resolve_config_path, setup_logging


def _default_out(stem: str) -> Path:
    return Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


def run(
    config: Annotated[str, typer.Argument(help="YAML config file or bundled config name")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="run directory")] = None,  # noqa: UP045
    device: DeviceOption = None,
    data_dir: Annotated[Optional[Path], typer.Option(help="folder with user-provided data (CIFAR)")] = None,  # noqa: UP045
    data_file: Annotated[Optional[Path], typer.Option(help="a data file (GEO series matrix, CSV)")] = None,  # noqa: UP045
    seed: Annotated[Optional[int], typer.Option(help="override the config's seed")] = None,  # noqa: UP045
    sets: SetOption = None,
    restart: Annotated[
        bool, typer.Option("--restart", help="move OUT's old contents to OUT/.previous-<UTC time>/ and start afresh")
    ] = False,
    nproc: Annotated[int, typer.Option("--nproc", min=1, help="member-parallel processes (gloo CPU, nccl CUDA)")] = 1,
    tensorboard: Annotated[
        bool, typer.Option("--tensorboard", help="also write TensorBoard events to OUT/tensorboard (log.tensorboard)")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    summary: Annotated[
        bool, typer.Option("--summary/--no-summary", hidden=True, help="print the results table (workers: no)")
    ] = True,
) -> None:
    """Run one experiment config into a run directory (config.yaml, metrics.jsonl, results.json, checkpoints, PNGs).

    The directory also holds fingerprint.json, the fingerprint of the configuration that made its numbers.

    Re-running into the same OUT resumes an unfinished run, or does nothing for a finished one.

    A different configuration there stops with exit 2 and changes nothing: use another --out, or --restart.

    With --nproc K the members are trained in K processes started by torchrun (coterie.experiments.parallel).
    """
    from coterie.cli.support import exit_codes
    from coterie.training.distributed import env_rank

    setup_logging(verbose)
    path = resolve_config_path(config)
    with exit_codes(verbose):
        sets = [*(sets or []), "log.tensorboard=true"] if tensorboard else sets
        cfg = _resolve_run_config(config, path, sets, device, seed, data_dir, data_file)
        from coterie.experiments.extras import require_config_extras

        require_config_extras(cfg)  # a missing optional package: one line, exit 2, nothing written
        out = out or _default_out(path.stem)
        results = _run_resolved(cfg, out, restart, nproc)
    if summary and env_rank() == 0:  # one table: the --nproc parent's, or rank 0's under torchrun
        console.print(f"[green]finished[/] {cfg.experiment} → {out}")
        _print_results_summary(results, cfg.experiment)


def _resolve_run_config(
    given: str,
    path: Path,
    sets: list[str] | None,
    device: DeviceChoice | None,
    seed: int | None,
    data_dir: Path | None,
    data_file: Path | None,
) -> Any:
    """The validated effective config: the file, then ``--set``, then the dedicated options; the device checked.

    Raises bad input (exit 2) before anything is written."""
    from coterie.cli.support import check_device, is_sweep_file, parse_assignments
    from coterie.config import ConfigError, load_config, with_overrides
    from coterie.utils.errors import InputError

    if is_sweep_file(path):
        raise InputError(f"{given} is a sweep file: use `coterie sweep {given}`")
    try:
        cfg = load_config(path)
        overrides: dict[str, object] = parse_assignments(sets or [])
        if device is not None:
            overrides["device"] = device.value
        if seed is not None:
            overrides["seed"] = seed
        if data_dir is not None:
            overrides["data.data_dir"] = str(data_dir)
        if data_file is not None:
            if "data_file" not in type(cfg).model_fields:
                raise ConfigError(f"experiment {cfg.experiment!r} takes no data_file")
            overrides["data_file"] = str(data_file)
        cfg = with_overrides(cfg, overrides) if overrides else cfg
    except ConfigError as e:
        with_sets = f" with --set {' '.join(sets)}" if sets else ""
        raise ConfigError(f"{path}{with_sets}: {e}") from None
    check_device(cfg.device)
    return cfg


def _run_resolved(cfg: Any, out: Path, restart: bool, nproc: int) -> dict:
    """Guard (or restart) the run directory, then run in this process, K processes or as a torchrun worker."""
    from coterie.experiments import parallel
    from coterie.experiments.runner import guard_run_dir, run_config
    from coterie.training.distributed import check_world_size, env_world_size
    from coterie.utils.errors import InputError

    env_world = env_world_size()
    worker = env_world > 1  # this process was started by torchrun
    if (nproc > 1 or worker) and cfg.experiment not in parallel.SUPPORTED_EXPERIMENTS:
        raise InputError(f"--nproc/torchrun supports experiments {parallel.SUPPORTED_EXPERIMENTS} only")
    if worker or nproc > 1:  # each rank would refuse once started (distributed.attach): say it here, write nothing
        what = f"torchrun's {env_world} processes" if worker else f"--nproc {nproc}"
        try:
            check_world_size(env_world if worker else nproc, cfg.ensemble.size, what)
        except ValueError as e:
            raise InputError(str(e)) from None
    if worker:  # each rank guards its own directory
        if restart:  # every rank would move the same directory at once
            raise InputError("--restart cannot be used under torchrun: move the run directory aside, or use --nproc")
        return parallel.run_worker(cfg, out)
    guard_run_dir(cfg, out, restart)  # before anything is written (the K-process launch writes out/workers/)
    if nproc > 1:
        return parallel.run_member_parallel(cfg, out, nproc)
    return run_config(cfg, out)


def _print_results_summary(results: dict, experiment: str) -> None:
    """The experiment's headline figures (its registered ``headline``), else the val/test sections and top-level
    numbers; wall time last."""
    from coterie.experiments import registry

    table = Table(title="results", show_header=True)
    table.add_column("figure")
    table.add_column("value", justify="right")
    headline = registry.get(experiment).headline
    for label, v in (headline(results) if headline is not None else _plain_figures(results)).items():
        table.add_row(label, f"{v:.4f}")
    if "wall_seconds" in results:
        table.add_row("wall_seconds", f"{results['wall_seconds']:.1f}")
    console.print(table)


def _plain_figures(results: dict) -> dict[str, float]:
    """``val.*`` and ``test.*`` numbers, then the other top-level numbers (wall time aside)."""
    out = {f"{s}.{k}": v for s in ("val", "test") for k, v in (results.get(s) or {}).items() if isinstance(v, float)}
    out.update({k: v for k, v in results.items() if isinstance(v, float) and k != "wall_seconds"})
    return out
