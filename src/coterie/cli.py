"""The ``coterie`` command: run, list, demo (and sweep, report)."""

from __future__ import annotations

import logging
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.table import Table

APP_HELP = (
    "coterie: neural-network diversity experiments.\n\n"
    "Exit codes: 0 done; 1 the run failed (one line; the traceback with --verbose); 2 bad input or usage, nothing "
    "done (an invalid config, option or --set value; a run directory holding another configuration; a corrupt sweep "
    "database; --device cuda without CUDA; a sweep file given to `run`)."
)

app = typer.Typer(add_completion=False, no_args_is_help=True, help=APP_HELP)
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


def _default_out(stem: str) -> Path:
    return Path("runs") / f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"


SetOption = Annotated[
    Optional[list[str]],  # noqa: UP045
    typer.Option("--set", help="override a config field: --set objective.params.beta=-0.5 (a YAML value; repeatable)"),
]
DeviceOption = Annotated[
    Optional[DeviceChoice],  # noqa: UP045
    typer.Option(help="where to run (default: the config's device, auto); cuda without CUDA is an error (exit 2)"),
]


@app.command()
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
) -> None:
    """Run one experiment config into a run directory (config.yaml, metrics.jsonl, results.json, checkpoints, PNGs).

    The directory also holds fingerprint.json, the fingerprint of the configuration that made its numbers.

    Re-running into the same OUT resumes an unfinished run, or does nothing for a finished one.

    A different configuration there stops with exit 2 and changes nothing: use another --out, or --restart.

    With --nproc K (or under torchrun) the members are trained in K processes (coterie.training.distributed).
    """
    from coterie.cli_support import exit_codes

    _setup_logging(verbose)
    path = resolve_config_path(config)
    with exit_codes(verbose):
        sets = [*(sets or []), "log.tensorboard=true"] if tensorboard else sets
        cfg = _resolve_run_config(config, path, sets, device, seed, data_dir, data_file)
        from coterie.experiments.extras import require_config_extras

        require_config_extras(cfg)  # a missing optional package: one line, exit 2, nothing written
        out = out or _default_out(path.stem)
        results = _run_resolved(cfg, out, restart, nproc)
    console.print(f"[green]finished[/] {cfg.experiment} → {out}")
    _print_results_summary(results)


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
    from coterie.cli_support import check_device, is_sweep_file, parse_assignments
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
    from coterie.experiments.runner import guard_run_dir, run_config
    from coterie.training import distributed
    from coterie.utils.errors import InputError

    parallel = nproc > 1 or distributed.env_world_size() > 1
    if parallel and cfg.experiment not in distributed.SUPPORTED_EXPERIMENTS:
        raise InputError(f"--nproc/torchrun supports experiments {distributed.SUPPORTED_EXPERIMENTS} only")
    if distributed.env_world_size() > 1:  # a worker started by torchrun: each rank guards its own directory
        if restart:  # every rank would move the same directory at once
            raise InputError("--restart cannot be used under torchrun: move the run directory aside, or use --nproc")
        return distributed.run_worker(cfg, out)
    guard_run_dir(cfg, out, restart)  # before anything is written (the K-process launch writes out/workers/)
    if nproc > 1:
        return distributed.run_member_parallel(cfg, out, nproc)
    return run_config(cfg, out)


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
    from coterie.cli_support import exit_codes
    from coterie.experiments.demo import run_demo

    _setup_logging(verbose)
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


@app.command()
def sweep(
    config: Annotated[str, typer.Argument(help="sweep YAML (a config with a `sweep: {grid: ...}` section)")],
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="sweep directory")] = None,  # noqa: UP045
    workers: Annotated[int, typer.Option("--workers", "-w", help="runs at once")] = 1,
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
    from coterie.cli_support import check_device, exit_codes, parse_assignments
    from coterie.sweep import SweepError, load_sweep, run_sweep
    from coterie.utils.errors import InputError

    _setup_logging(verbose)
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
            outcome = run_sweep(spec, out, workers=workers, backend=backend, address=address,  # type: ignore[arg-type]
                                threads_per_worker=threads or None, overrides=overrides or None)
        except SweepError as e:
            raise SweepError(f"{path}: {e}") from None
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
    from coterie.report.html import ReportError
    from coterie.report.write import write_report

    _setup_logging(verbose)
    try:
        html_path, csv_path = write_report(directory)
    except ReportError as e:
        err_console.print(f"[red]{e}")
        raise typer.Exit(2) from None
    console.print(f"[green]wrote[/] {html_path} and {csv_path}")


# ---------------------------------------------------------------- reusing a finished run: eval, attack, export
class WhichChoice(str, Enum):
    """Which weights of a run: ``best`` (validation best_metric) or ``final``."""

    best = "best"
    final = "final"


class SplitChoice(str, Enum):
    test = "test"
    val = "val"


class AttackChoice(str, Enum):
    fgsm = "fgsm"
    bim = "bim"
    mim = "mim"
    pgd = "pgd"


class RuleChoice(str, Enum):
    vote = "vote"
    mean = "mean"


class FormatChoice(str, Enum):
    torch_export = "torch-export"
    onnx = "onnx"


RunDirArg = Annotated[Path, typer.Argument(help="a run directory written by `coterie run`")]
WhichOption = Annotated[WhichChoice, typer.Option(help="best (validation best_metric) or final weights")]
SplitOption = Annotated[SplitChoice, typer.Option(help="split rebuilt from the run's config.yaml")]
ReuseDeviceOption = Annotated[DeviceChoice, typer.Option(help="where to evaluate")]


def _reuse_error(e: Exception) -> typer.Exit:
    """Print a bad-input error of eval/attack/export as one line; the command exits 2."""
    err_console.print(str(e), style="red", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(2)


@app.command("eval")
def eval_cmd(
    run_dir: RunDirArg,
    split: SplitOption = SplitChoice.test,
    which: WhichOption = WhichChoice.best,
    device: ReuseDeviceOption = DeviceChoice.cpu,
) -> None:
    """Evaluate a run's ensemble on a split rebuilt from its config; prints a table, writes RUN_DIR/eval.json.

    Exit 2 (one line): not a run directory, weights missing or damaged, a bad option."""
    from coterie.experiments.evaluate_run import evaluate_run
    from coterie.experiments.loading import RunArgumentError, RunLoadError

    try:
        rec = evaluate_run(run_dir, split.value, which.value, device.value)
    except (RunLoadError, RunArgumentError) as e:
        raise _reuse_error(e) from None
    table = Table(title=f"{run_dir} · {which.value} weights · {split.value} split ({rec['n_samples']} samples)")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for k, v in rec["metrics"].items():
        if isinstance(v, float):
            table.add_row(k, f"{v:.4f}")
    console.print(table)
    console.print(f"[green]wrote[/] {Path(run_dir) / 'eval.json'}")


@app.command()
def attack(
    run_dir: RunDirArg,
    attack: Annotated[AttackChoice, typer.Option("--attack", help="L∞ attack")],
    eps: Annotated[float, typer.Option("--eps", help="L∞ radius in [0, 1]")],
    steps: Annotated[int, typer.Option(help="BIM/MIM/PGD steps of eps/5")] = 50,
    restarts: Annotated[int, typer.Option(help="PGD random restarts")] = 10,
    n_samples: Annotated[Optional[int], typer.Option("--n-samples", help="first N samples (default all)")] = None,  # noqa: UP045
    rule: Annotated[RuleChoice, typer.Option(help="scoring rule: majority vote or mean probability")] = RuleChoice.vote,
    which: WhichOption = WhichChoice.best,
    split: SplitOption = SplitChoice.test,
    device: ReuseDeviceOption = DeviceChoice.cpu,
) -> None:
    """White-box accuracy of a run's ensemble (attacked through its mean probability); writes RUN_DIR/attack.json.

    Exit 2 (one line): not a run directory, weights missing or damaged, a bad option."""
    from coterie.experiments.attack_run import attack_run
    from coterie.experiments.loading import RunArgumentError, RunLoadError

    try:
        rec = attack_run(run_dir, attack.value, eps, steps=steps, restarts=restarts, n_samples=n_samples,
                         rule=rule.value, which=which.value, split=split.value, device=device.value)
    except (RunLoadError, RunArgumentError) as e:
        raise _reuse_error(e) from None
    table = Table(title=f"{run_dir} · white-box {attack.value} ε={eps:g} · {which.value} weights · {split.value} split")
    for col in ("samples", "rule", "clean acc", "adversarial acc"):
        table.add_column(col, justify="right")
    table.add_row(str(rec["n_samples"]), rule.value, f"{rec['clean_acc']:.4f}", f"{rec['adv_acc']:.4f}")
    console.print(table)
    console.print(f"[green]wrote[/] {Path(run_dir) / 'attack.json'}")


@app.command()
def export(
    run_dir: RunDirArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write (.pt2 for torch-export, .onnx)")],
    fmt: Annotated[FormatChoice, typer.Option("--format", help="torch-export or onnx")] = FormatChoice.torch_export,
    which: WhichOption = WhichChoice.best,
) -> None:
    """Export a run's ensemble: x (B, ...) → (mean-rule probs (B, C), member logits (N, B, C)), dynamic batch.

    Exit 2 (one line): not a run directory, weights missing or damaged, onnx not installed, a bad option."""
    from coterie.experiments.export_run import export_run
    from coterie.experiments.loading import RunArgumentError, RunLoadError

    try:
        rec = export_run(run_dir, out, fmt.value, which.value)
    except (RunLoadError, RunArgumentError) as e:
        raise _reuse_error(e) from None
    console.print(f"[green]wrote[/] {rec['out']} ({rec['format']}, {which.value} weights): x (B, "
                  f"{', '.join(map(str, rec['input_shape']))}) → probs (B, {rec['num_classes']}), "
                  f"member_logits ({rec['n_members']}, B, {rec['num_classes']})", highlight=False, soft_wrap=True)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
