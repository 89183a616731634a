"""``coterie report DIR``: write ``report.html`` and ``summary.csv`` for a sweep or a finished run directory."""

from __future__ import annotations

from pathlib import Path

from coterie.report.html import ReportError
from coterie.report.run_report import build_run_report
from coterie.report.sweep_report import build_sweep_report
from coterie.utils.io import atomic_write_text


def write_report(directory: str | Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``summary.csv`` into ``directory`` (a sweep or a run directory).

    Raises:
        ReportError: nothing to report there.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ReportError(f"{d} is not a directory")
    if (d / "results.sqlite").exists():
        page, summary = build_sweep_report(d)
    elif (d / "results.json").exists():
        page, summary = build_run_report(d)
    else:
        raise ReportError(f"{d} holds neither results.sqlite (a sweep) nor results.json (a finished run)")
    html_path, csv_path = d / "report.html", d / "summary.csv"
    atomic_write_text(html_path, page.render())
    atomic_write_text(csv_path, summary.to_csv(index=False))
    return html_path, csv_path
