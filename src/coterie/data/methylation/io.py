"""Methylation files: a samples × CpGs table (CSV / TSV / parquet) and :func:`load_methylation`, which reads either
that or a GEO series matrix (:mod:`coterie.data.methylation.geo`), chosen from the file's content."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from coterie.data.methylation.annotation import arrange
from coterie.data.methylation.core import NA_STRINGS, MethylationData, MethylationFormatError
from coterie.data.methylation.files import importable, open_text
from coterie.data.methylation.geo import read_geo_series_matrix
from coterie.utils.errors import MissingFileError


def read_methylation_table(
    path: str | Path,
    age_column: str = "age",
    sample_column: str | None = None,
    sep: str | None = None,
    na_values: Sequence[str] = NA_STRINGS,
) -> MethylationData:
    """Read a samples × CpGs table with an age column from CSV, TSV (optionally gzipped) or parquet.

    Args:
        path: ``.csv``, ``.tsv``/``.txt`` (optionally ``.gz``) or ``.parquet``/``.pq``.
        age_column: the column holding ages in years (kept ``NaN`` where missing, never dropped here).
        sample_column: the column of sample IDs; ``None`` uses the first column if it is not numeric, else row
            numbers.
        sep: field separator; ``None`` infers it from the extension (tab for ``.tsv``/``.txt``, comma otherwise).
        na_values: strings read as missing.

    Raises:
        ImportError: parquet without ``pyarrow`` (or ``fastparquet``) installed.
        MethylationFormatError: a missing age column, a non-numeric CpG column, duplicated sample IDs.
    """
    path = Path(path)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in (".parquet", ".pq"):
        if not (importable("pyarrow") or importable("fastparquet")):
            raise ImportError(
                f"reading {path.name} needs a parquet engine: `pip install pyarrow` (or save the table as CSV/TSV)"
            )
        df = pd.read_parquet(path)
    else:
        base = suffixes[-2] if suffixes and suffixes[-1] == ".gz" and len(suffixes) > 1 else (suffixes or [""])[-1]
        if sep is None:
            sep = "\t" if base in (".tsv", ".txt", ".tab") else ","
        try:
            df = pd.read_csv(path, sep=sep, na_values=list(na_values), keep_default_na=False)
        except (pd.errors.ParserError, UnicodeDecodeError) as e:
            m = re.search(r"line (\d+)", str(e))
            raise MethylationFormatError(path, int(m.group(1)) if m else None, f"cannot parse table: {e}") from e
    if age_column not in df.columns:
        raise MethylationFormatError(path, 1, f"no age column {age_column!r}; columns start {list(df.columns[:8])}")
    if sample_column is None:
        first = df.columns[0]
        if first != age_column and not pd.api.types.is_numeric_dtype(df[first]):
            sample_column = str(first)
    if sample_column is not None:
        if sample_column not in df.columns:
            raise MethylationFormatError(path, 1, f"no sample column {sample_column!r}")
        index = pd.Index(df.pop(sample_column).astype(str), name="sample")
    else:
        index = pd.Index([f"S{i:05d}" for i in range(len(df))], name="sample")
    df.index = index
    if index.duplicated().any():
        dup = index[index.duplicated()][0]
        line = int(np.flatnonzero(index == dup)[1]) + 2
        raise MethylationFormatError(path, line, f"duplicated sample ID {dup!r}")
    ages = pd.to_numeric(df.pop(age_column), errors="coerce").astype(np.float64).rename("age")
    bad = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])]
    if bad:
        col = bad[0]
        conv = pd.to_numeric(df[col], errors="coerce")
        row = int(np.flatnonzero(conv.isna().to_numpy() & df[col].notna().to_numpy())[0])
        line = row + 2 if not suffixes or suffixes[-1] not in (".parquet", ".pq") else None
        raise MethylationFormatError(path, line, f"CpG column {col!r} holds a non-numeric value {df[col].iloc[row]!r}")
    betas = df.astype(np.float64)
    betas.columns = betas.columns.astype(str)
    betas.columns.name = "cpg"
    return MethylationData(betas, ages, {"source": str(path), "format": "table"})


def load_methylation(
    path: str | Path,
    age_column: str = "age",
    annotation: str | Path | pd.DataFrame | None = None,
    order: str | None = None,
    **kwargs: Any,
) -> MethylationData:
    """Read a GEO series matrix or a samples × CpGs table, choosing by content (a first line starting with ``!``).

    ``annotation`` / ``order``: as in :func:`~coterie.data.methylation.geo.read_geo_series_matrix` (a platform
    annotation sets ``loci`` and, by default, sorts CpGs by chromosome and position), for either format.
    """
    path = Path(path)
    if not path.exists():
        raise MissingFileError(f"methylation data file not found: {path}")
    if path.suffix.lower() not in (".parquet", ".pq"):
        with open_text(path) as fh:
            first = fh.readline()
        if first.startswith("!"):
            return read_geo_series_matrix(path, annotation=annotation, order=order, **kwargs)
    return arrange(read_methylation_table(path, age_column=age_column, **kwargs), annotation, order)
