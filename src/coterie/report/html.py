"""The page of ``coterie report DIR``: a self-contained ``report.html`` (figures embedded as base64 PNG, tables,
the configuration); :func:`coterie.report.write.write_report` builds it for a run or a sweep directory.

The page needs no server and no network: open it from disk. A small inline script checks on load that every
figure decoded and records the count in ``<body data-figures-loaded="K/N">`` (used by the headless-browser test).
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from coterie.utils.figures import release

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
        fmt = {
            c: (lambda v, f=floatfmt: "" if v is None or (isinstance(v, float) and math.isnan(v)) else f.format(v))
            for c in df.columns
            if pd.api.types.is_float_dtype(df[c])
        }
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
