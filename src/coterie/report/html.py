"""``coterie report DIR``: a self-contained ``report.html`` (figures embedded as base64 PNG, tables, the
configuration) and ``summary.csv`` for a run directory or a sweep directory.

The page needs no server and no network: open it from disk. A small inline script checks on load that every
figure decoded and records the count in ``<body data-figures-loaded="K/N">`` (used by the headless-browser test).
"""

from __future__ import annotations

import base64
import html
import io
import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from matplotlib.figure import Figure

from coterie.utils.figures import release
from coterie.utils.io import atomic_write_text

log = logging.getLogger(__name__)


class ReportError(RuntimeError):
    """The directory is neither a run directory nor a sweep directory, or holds nothing to report."""


def figure_png(fig: Figure, dpi: int = 100) -> bytes:
    """PNG bytes of a figure (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    release(fig)
    return buf.getvalue()


@dataclass
class Page:
    """An HTML page assembled from sections; figures are embedded and also saved under ``figures/``."""

    title: str
    out_dir: Path
    parts: list[str] = field(default_factory=list)
    n_figures: int = 0

    def h2(self, text: str) -> None:
        self.parts.append(f"<h2>{html.escape(text)}</h2>")

    def h3(self, text: str) -> None:
        self.parts.append(f"<h3>{html.escape(text)}</h3>")

    def p(self, text: str, raw: bool = False) -> None:
        self.parts.append(f"<p>{text if raw else html.escape(text)}</p>")

    def figure(self, fig: Figure | bytes, caption: str, name: str) -> None:
        data = fig if isinstance(fig, bytes) else figure_png(fig)
        figs = self.out_dir / "figures"
        figs.mkdir(parents=True, exist_ok=True)
        (figs / f"{name}.png").write_bytes(data)
        b64 = base64.b64encode(data).decode()
        self.n_figures += 1
        self.parts.append(
            f'<figure><img class="fig" alt="{html.escape(caption)}" src="data:image/png;base64,{b64}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )

    def try_figure(self, make: Any, caption: str, name: str) -> None:
        """Add ``make()`` as a figure; a failure becomes a visible note instead of aborting the report."""
        try:
            self.figure(make(), caption, name)
        except Exception as e:
            log.warning("figure %s skipped: %s", name, e)
            self.p(f"(figure “{caption}” unavailable: {e})")

    def table(self, df: pd.DataFrame, caption: str = "", floatfmt: str = "{:.4f}") -> None:
        if df is None or df.empty:
            self.p(f"({caption or 'table'}: no data)")
            return
        fmt = {c: (lambda v, f=floatfmt: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f.format(v))
               for c in df.columns if pd.api.types.is_float_dtype(df[c])}
        body = df.to_html(index=False, border=0, classes="tbl", formatters=fmt, escape=True, na_rep="")
        cap = f"<div class='cap'>{html.escape(caption)}</div>" if caption else ""
        self.parts.append(f"<div class='tblwrap'>{cap}{body}</div>")

    def pre(self, text: str) -> None:
        self.parts.append(f"<pre>{html.escape(text)}</pre>")

    def render(self) -> str:
        css = (
            "body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
            "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;margin-top:2em}"
            "figure{display:inline-block;margin:.6em;vertical-align:top;max-width:100%}"
            "img.fig{max-width:100%;border:1px solid #eee}figcaption{font-size:.85em;color:#555;max-width:640px}"
            "table.tbl{border-collapse:collapse;font-size:.85em;margin:.5em 0}"
            "table.tbl td,table.tbl th{border:1px solid #ddd;padding:2px 6px;text-align:right}"
            ".cap{font-weight:600;margin-top:.8em}.tblwrap{overflow-x:auto}"
            "pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:.8em}"
        )
        script = (
            "window.addEventListener('load',function(){var im=document.querySelectorAll('img.fig');var ok=0;"
            "im.forEach(function(i){if(i.complete&&i.naturalWidth>0)ok++;});"
            "document.body.setAttribute('data-figures-loaded',ok+'/'+im.length);});"
        )
        return (
            "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{html.escape(self.title)}</title><style>{css}</style></head>"
            f"<body data-figures-expected='{self.n_figures}'><h1>{html.escape(self.title)}</h1>"
            + "\n".join(self.parts)
            + f"<script>{script}</script></body></html>"
        )


def write_report(directory: str | Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``summary.csv`` into ``directory`` (a sweep or a run directory).

    Raises:
        ReportError: nothing to report there.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ReportError(f"{d} is not a directory")
    if (d / "results.sqlite").exists():
        from coterie.report.sweep_report import build_sweep_report

        page, summary = build_sweep_report(d)
    elif (d / "results.json").exists():
        page, summary = build_run_report(d)
    else:
        raise ReportError(f"{d} holds neither results.sqlite (a sweep) nor results.json (a finished run)")
    html_path, csv_path = d / "report.html", d / "summary.csv"
    atomic_write_text(html_path, page.render())
    atomic_write_text(csv_path, summary.to_csv(index=False))
    return html_path, csv_path


def build_run_report(d: Path) -> tuple[Page, pd.DataFrame]:
    """The report of one run: its figures (PNG files of the run, plus the per-run analysis figures of a
    ``colearn`` run), its final figures and its configuration."""
    from coterie.report.rundata import load_run
    from coterie.sweep.store import flatten_metrics

    run = load_run(d)
    page = Page(f"coterie run report — {run.config.get('name') or d.name}", d)
    flat = flatten_metrics(run.results)
    summary = pd.DataFrame({"metric": list(flat), "value": list(flat.values())})
    page.h2("Final figures")
    key = summary[summary["metric"].str.match(r"^(val|test)\.(ens_acc|member_acc_mean|nll|ece|mean_js)")]
    page.table(key, "validation (last epoch) and test figures")
    methods = run.results.get("methods")
    if isinstance(methods, dict) and methods:  # experiment: expansion — one row per variant (seed 000 Table S5)
        rows = [{"variant": name, **{k: v for k, v in m.items() if not isinstance(v, (dict, list))}}
                for name, m in methods.items() if isinstance(m, dict)]
        page.h2("Expansion and boosting (Table S5)")
        page.table(pd.DataFrame(rows), "test accuracy of each way to expand the base ensemble (mean rule; geometric "
                                       "and vote alongside)")
    page.h2("Figures")
    for png in sorted(d.glob("*.png")):
        page.figure(png.read_bytes(), png.stem.replace("_", " "), f"run-{png.stem}")
    if run.predictions is not None:
        from coterie.report import agreement, functional, structure

        page.try_figure(lambda: functional.js_matrices([run]), "pairwise JS dissimilarity d(n_i, n_j) on test (Fig 4a)",
                        "js_matrix")
        page.try_figure(lambda: functional.mds_trajectory(run)[0], "MDS of networks and ensemble along training "
                        "(Fig 4b, validation subset)", "mds")
        page.try_figure(lambda: functional.distance_trajectories([run]), "d(n1,n2) vs KL(q‖p_i) along training "
                        "(Fig 2b)", "trajectory")
        page.try_figure(lambda: agreement.entropy_histogram([run], all_members=True),
                        "entropy of each member on test (Fig S5)", "entropy")
        page.try_figure(lambda: agreement.confidence_voters([run]), "ensemble confidence vs correct voters (Fig 5c)",
                        "voters")
        page.try_figure(lambda: structure.sparsity_during_training([run]), "inactive units during training (Fig 6a)",
                        "sparsity")
    page.h2("Configuration")
    page.pre(yaml.safe_dump(run.config, sort_keys=False))
    page.h2("results.json")
    page.pre(json.dumps(run.results, indent=1)[:20000])
    return page, summary
