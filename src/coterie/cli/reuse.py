"""Reusing a finished run directory: ``coterie eval``, ``coterie attack`` and ``coterie export``."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.table import Table

from coterie.cli.app import DeviceChoice, console, err_console


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
        rec = attack_run(
            run_dir,
            attack.value,
            eps,
            steps=steps,
            restarts=restarts,
            n_samples=n_samples,
            rule=rule.value,
            which=which.value,
            split=split.value,
            device=device.value,
        )
    except (RunLoadError, RunArgumentError) as e:
        raise _reuse_error(e) from None
    table = Table(title=f"{run_dir} · white-box {attack.value} ε={eps:g} · {which.value} weights · {split.value} split")
    for col in ("samples", "rule", "clean acc", "adversarial acc"):
        table.add_column(col, justify="right")
    table.add_row(str(rec["n_samples"]), rule.value, f"{rec['clean_acc']:.4f}", f"{rec['adv_acc']:.4f}")
    console.print(table)
    console.print(f"[green]wrote[/] {Path(run_dir) / 'attack.json'}")


def export(
    run_dir: RunDirArg,
    out: Annotated[Path, typer.Option("--out", "-o", help="file to write (.pt2 for torch-export, .onnx)")],
    fmt: Annotated[
        FormatChoice | None, typer.Option("--format", help="torch-export or onnx (default: from --out's suffix)")
    ] = None,
    which: WhichOption = WhichChoice.best,
) -> None:
    """Export a run's ensemble: x (B, ...) → (mean-rule probs (B, C), member logits (N, B, C)), dynamic batch.

    Exit 2 (one line): not a run directory, weights missing or damaged, onnx not installed, a bad option."""
    from coterie.experiments.export_run import export_run
    from coterie.experiments.loading import RunArgumentError, RunLoadError

    try:
        rec = export_run(run_dir, out, None if fmt is None else fmt.value, which.value)
    except (RunLoadError, RunArgumentError) as e:
        raise _reuse_error(e) from None
    console.print(
        f"[green]wrote[/] {rec['out']} ({rec['format']}, {which.value} weights): x (B, "
        f"{', '.join(map(str, rec['input_shape']))}) → probs (B, {rec['num_classes']}), "
        f"member_logits ({rec['n_members']}, B, {rec['num_classes']})",
        highlight=False,
        soft_wrap=True,
    )
