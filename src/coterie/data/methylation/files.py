"""Text-file helpers shared by the methylation readers: gzip detected from content, GEO-style field unquoting."""

from __future__ import annotations

import gzip
import importlib.util
import io
from pathlib import Path


def open_text(path: Path) -> io.TextIOBase:
    """Open ``path`` for reading as UTF-8 text, transparently un-gzipping it when its first bytes are gzip's magic."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def unquote(field: str) -> str:
    """``field`` without surrounding whitespace and one pair of double quotes (GEO quotes IDs and characteristics)."""
    f = field.strip()
    if len(f) >= 2 and f[0] == '"' and f[-1] == '"':
        return f[1:-1]
    return f


def importable(name: str) -> bool:
    """Whether module ``name`` can be imported (without importing it)."""
    return importlib.util.find_spec(name) is not None
