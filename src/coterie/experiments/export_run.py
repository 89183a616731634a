"""``coterie export RUN_DIR``: a trained run's ensemble as a ``torch.export`` program (.pt2) or an ONNX file.

The exported module maps inputs x (B, ...) to ``(probs (B, C), member_logits (N, B, C))``, probs by the
mean-probability rule (seed 000 eq. 4), with a dynamic batch dimension. Members run under the ``loop`` executor for
export: the fused executors memoise on tensor addresses, which tracing cannot see. The input shape comes from
``results.json`` (``input_shape``), or, for runs that did not record it, from the split rebuilt from config.yaml.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from coterie.ensemble import Ensemble
from coterie.experiments.evaluate_run import load_run_ensemble, rebuild_split
from coterie.experiments.loading import RunArgumentError, check_which, read_run_config

FORMATS: tuple[str, ...] = ("torch-export", "onnx")


class ProbsAndLogits(nn.Module):
    """Wraps an Ensemble: x (B, ...) → (mean-rule probabilities (B, C), member logits (N, B, C))."""

    def __init__(self, ensemble: Ensemble) -> None:
        super().__init__()
        self.ensemble = ensemble

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        z = self.ensemble(x)
        return z.softmax(-1).mean(0), z


def run_input_shape(run_dir: str | Path) -> tuple[int, ...]:
    """The per-sample input shape of the run: results.json's ``input_shape``, else from the rebuilt val split."""
    results = Path(run_dir) / "results.json"
    if results.is_file():
        shape = json.loads(results.read_text()).get("input_shape")
        if shape:
            return tuple(int(s) for s in shape)
    return tuple(rebuild_split(read_run_config(run_dir), "val", run_dir).x.shape[1:])


#: The file suffix each format is read back by (``torch.export.load`` expects ``.pt2``).
SUFFIXES: dict[str, str] = {"torch-export": ".pt2", "onnx": ".onnx"}


def export_format(out: str | Path, fmt: str | None) -> str:
    """``fmt``, or, when it is ``None``, the format ``out``'s suffix names (``.onnx`` → onnx, else torch-export).
    A suffix of the other format is refused (RunArgumentError): ``--out e.onnx`` holding a torch-export archive
    would be read by neither tool."""
    suffix = Path(out).suffix.lower()
    named = {s: f for f, s in SUFFIXES.items()}.get(suffix)  # the format this suffix belongs to, if any
    if fmt is None:
        return named or "torch-export"
    if named is not None and named != fmt:
        raise RunArgumentError(
            f"--out {out}: {suffix} is the {named} suffix but --format is {fmt} (use {SUFFIXES[fmt]}, or drop --format)"
        )
    return fmt


def check_export_args(fmt: str, which: str) -> None:
    """Reject a bad format / which, or ONNX without the onnx package, before any work (RunArgumentError)."""
    if fmt not in FORMATS:
        raise RunArgumentError(f"format must be one of {list(FORMATS)}, got {fmt!r}")
    check_which(which)
    if fmt == "onnx":  # torch.onnx.export (the dynamo exporter) needs onnxscript beside onnx
        missing = [m for m in ("onnx", "onnxscript") if importlib.util.find_spec(m) is None]
        if missing:
            raise RunArgumentError(
                f"ONNX export (--format onnx, or an .onnx --out) needs the package(s) {', '.join(missing)}, not "
                "installed: pip install 'coterie[onnx]'"
            )


def exportable(run_dir: str | Path, which: str = "best") -> tuple[ProbsAndLogits, Tensor]:
    """The loaded ensemble wrapped for export (loop executor, eval mode, no grad, CPU) and an example input (2, ...)."""
    ens = load_run_ensemble(run_dir, which, "cpu")
    ens.executor = "loop"
    ens.requires_grad_(False)
    example = torch.rand(2, *run_input_shape(run_dir))
    return ProbsAndLogits(ens).eval(), example


def export_run(run_dir: str | Path, out: str | Path, fmt: str | None = None, which: str = "best") -> dict[str, Any]:
    """Write the run's ``which`` ensemble to ``out`` in format ``fmt`` (``None``: from ``out``'s suffix, see
    :func:`export_format`); returns ``{"out", "format", "which", "input_shape", "n_members", "num_classes"}``. Raises
    RunArgumentError / RunLoadError before writing anything."""
    fmt = export_format(out, fmt)
    check_export_args(fmt, which)
    module, example = exportable(run_dir, which)
    batch = torch.export.Dim("batch", min=1)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torch-export":
        program = torch.export.export(module, (example,), dynamic_shapes={"x": {0: batch}})
        torch.export.save(program, str(out))
    else:
        try:
            torch.onnx.export(
                module,
                (example,),
                str(out),
                input_names=["x"],
                output_names=["probs", "member_logits"],
                dynamic_shapes={"x": {0: batch}},
                verbose=False,
            )
        except ImportError as e:  # torch's ONNX exporter needs onnxscript as well
            raise RunArgumentError(
                f"--format onnx needs {e.name or 'onnxscript'}, which is not installed: pip install 'coterie[onnx]'"
            ) from None
    probs, logits = module(example)
    return {
        "out": str(out),
        "format": fmt,
        "which": which,
        "input_shape": list(example.shape[1:]),
        "n_members": int(logits.shape[0]),
        "num_classes": int(probs.shape[1]),
    }
