"""GEO series-matrix reader (``GSE…_series_matrix.txt``, plain or ``.gz``) for methylation beta values.

The file's header lines (``!Series_…``, ``!Sample_…``) give sample accessions and characteristics (ages); the table
between ``!series_matrix_table_begin`` and ``!series_matrix_table_end`` holds one row per CpG. Malformed lines raise
:class:`MethylationFormatError` naming the file and the 1-based line number; samples are never dropped silently.
"""

from __future__ import annotations

import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from coterie.data.methylation.ages import parse_age
from coterie.data.methylation.annotation import arrange
from coterie.data.methylation.core import NA_STRINGS, MethylationData, MethylationFormatError
from coterie.data.methylation.files import open_text, unquote

log = logging.getLogger(__name__)


@dataclass
class _SeriesMatrixScan:
    """Line-by-line state of a series-matrix read: header metadata, then the table's raw lines with line numbers."""

    path: Path
    keep: set[str] | None
    accessions: list[str] | None = None
    accession_line: int = 0
    platform: str | None = None
    characteristics: list[tuple[int, list[str]]] = field(default_factory=list)
    header: list[str] | None = None
    header_line: int = 0
    rows: list[str] = field(default_factory=list)
    row_lines: list[int] = field(default_factory=list)
    in_table: bool = False
    ended: bool = False

    def feed(self, lineno: int, line: str) -> None:
        if self.in_table:
            self._table_line(lineno, line)
        else:
            self._meta_line(lineno, line)

    def _meta_line(self, lineno: int, line: str) -> None:
        if not line.strip():
            return
        low = line.lower()
        if low.startswith("!series_matrix_table_begin"):
            self.in_table = True
            return
        if low.startswith("!series_matrix_table_end"):
            raise MethylationFormatError(self.path, lineno, "table end marker before its begin marker")
        if not line.startswith("!"):
            if self.ended:
                raise MethylationFormatError(self.path, lineno, "unexpected content after the table end marker")
            raise MethylationFormatError(self.path, lineno, f"header line does not start with '!': {line[:60]!r}")
        key, _, rest = line.partition("\t")
        key = key.strip()
        values = [unquote(v) for v in rest.split("\t")] if rest else []
        if key == "!Sample_geo_accession":
            self.accessions, self.accession_line = values, lineno
        elif key == "!Sample_characteristics_ch1":
            self.characteristics.append((lineno, values))
        elif key == "!Series_platform_id" and values:
            self.platform = values[0]

    def _table_line(self, lineno: int, line: str) -> None:
        if line.lower().startswith("!series_matrix_table_end"):
            self.in_table, self.ended = False, True
            return
        if not line.strip():
            return
        if self.header is None:
            self._table_header(lineno, line)
            return
        n_fields = len(self.header)
        got = line.count("\t") + 1
        if got != n_fields:
            raise MethylationFormatError(
                self.path, lineno, f"expected {n_fields} tab-separated fields (ID + {n_fields - 1} samples), got {got}"
            )
        if self.keep is not None and unquote(line[: line.index("\t")]) not in self.keep:
            return
        self.rows.append(line)
        self.row_lines.append(lineno)

    def _table_header(self, lineno: int, line: str) -> None:
        self.header = [unquote(v) for v in line.split("\t")]
        self.header_line = lineno
        if len(self.header) < 2:
            raise MethylationFormatError(self.path, lineno, "table header has no sample columns")
        if len(set(self.header[1:])) != len(self.header) - 1:
            raise MethylationFormatError(self.path, lineno, "duplicated sample ID in the table header")

    def samples(self) -> list[str]:
        """The table's sample IDs, after checking the table exists, ended, and agrees with the accession row."""
        if self.header is None:
            raise MethylationFormatError(
                self.path, None, "no '!series_matrix_table_begin' section with a header row found"
            )
        if self.in_table:
            raise MethylationFormatError(self.path, None, "missing '!series_matrix_table_end' marker (truncated file?)")
        samples = self.header[1:]
        if self.accessions is not None and self.accessions != samples:
            raise MethylationFormatError(
                self.path,
                self.accession_line,
                f"!Sample_geo_accession lists {len(self.accessions)} samples that "
                f"differ from the table header at line {self.header_line}",
            )
        return samples


def read_geo_series_matrix(
    path: str | Path,
    cpgs: Sequence[str] | None = None,
    na_values: Sequence[str] = NA_STRINGS,
    annotation: str | Path | pd.DataFrame | None = None,
    order: str | None = None,
) -> MethylationData:
    """Read a GEO series-matrix file (``GSE…_series_matrix.txt`` or ``.txt.gz``) of methylation beta values.

    The header lines start with ``!``; the sample accessions come from ``!Sample_geo_accession`` (and must equal the
    table header), the ages from whichever ``!Sample_characteristics_ch1`` row carries ``age…: value`` for a sample
    (see :func:`~coterie.data.methylation.ages.parse_age`). The table lies between ``!series_matrix_table_begin`` and
    ``!series_matrix_table_end``: a header ``"ID_REF" "GSM…" …`` and one tab-separated row per CpG, IDs quoted,
    values numeric or a missing marker (``null``, ``NA``, empty).

    Args:
        path: the file; gzip is detected from its magic bytes, not its name.
        cpgs: keep only these CpG IDs (saves memory on 450k/EPIC arrays); ``None`` keeps all.
        na_values: strings read as missing.
        annotation: a platform annotation (GPL file path or the frame
            :func:`~coterie.data.methylation.annotation.read_platform_annotation` returns) giving each probe's
            chromosome and position; sets ``loci`` on the result.
        order: ``"genomic"`` (the default when ``annotation`` is given: CpGs sorted by chromosome, then position, so
            a 1-D convolution sees neighbouring sites side by side) or ``"original"`` (file order, which GEO sorts by
            probe ID, not position).

    Returns:
        :class:`MethylationData` with ``betas`` (samples, CpGs) and ``ages`` (samples,); samples whose age is absent
        keep ``NaN`` (never dropped here).

    Raises:
        MethylationFormatError: naming the line number of a malformed line: a row with the wrong number of fields, a
            value that is not a number, a duplicated sample or CpG ID, a header row that disagrees with the table,
            a missing table section.
    """
    path = Path(path)
    scan = _SeriesMatrixScan(path, set(cpgs) if cpgs is not None else None)
    with open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            scan.feed(lineno, raw.rstrip("\r\n"))
    samples = scan.samples()
    ages = _ages_from_characteristics(path, scan.characteristics, samples)
    betas = _parse_table(path, scan.rows, scan.row_lines, samples, na_values).T
    betas.index.name = "sample"
    betas.columns.name = "cpg"
    out_of_range = ((betas < 0) | (betas > 1)).to_numpy().any(axis=0)
    if out_of_range.any():
        log.warning(
            "%s: %d CpG(s) have values outside [0, 1] (M-values rather than betas?)", path, int(out_of_range.sum())
        )
    n_missing_age = int(ages.isna().sum())
    if n_missing_age:
        log.warning("%s: %d of %d samples have no parsable age", path, n_missing_age, len(samples))
    info = {"source": str(path), "format": "geo_series_matrix", "platform": scan.platform}
    return arrange(MethylationData(betas, ages, info), annotation, order)


def _ages_from_characteristics(path: Path, rows: list[tuple[int, list[str]]], samples: list[str]) -> pd.Series:
    ages = np.full(len(samples), np.nan)
    found = np.zeros(len(samples), dtype=bool)
    for lineno, values in rows:
        if len(values) != len(samples):
            raise MethylationFormatError(
                path, lineno, f"!Sample_characteristics_ch1 has {len(values)} fields for {len(samples)} samples"
            )
        for j, v in enumerate(values):
            a = parse_age(v)
            if a is None:
                continue
            if found[j] and not (math.isnan(a) or math.isnan(ages[j]) or a == ages[j]):
                raise MethylationFormatError(path, lineno, f"sample {samples[j]} has two different ages")
            if not found[j] or math.isnan(ages[j]):
                ages[j] = a
            found[j] = True
    return pd.Series(ages, index=pd.Index(samples, name="sample"), name="age")


def _parse_table(
    path: Path, rows: list[str], row_lines: list[int], samples: list[str], na_values: Sequence[str]
) -> pd.DataFrame:
    """CpG × sample float DataFrame from validated table lines; a non-numeric value raises with its line number."""
    if not rows:
        return pd.DataFrame(np.empty((0, len(samples))), columns=samples)
    text = "\n".join(rows)
    na = list(na_values)
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep="\t",
            header=None,
            index_col=0,
            quotechar='"',
            na_values=na,
            keep_default_na=False,
            dtype={i: np.float64 for i in range(1, len(samples) + 1)},
            engine="c",
        )
    except ValueError:
        _raise_first_bad_value(path, rows, row_lines, set(na))
        raise  # pragma: no cover - _raise_first_bad_value always raises
    df.columns = samples
    df.index = df.index.astype(str)
    dup = df.index.duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise MethylationFormatError(path, row_lines[i], f"duplicated CpG ID {df.index[i]!r}")
    return df


def _raise_first_bad_value(path: Path, rows: list[str], row_lines: list[int], na: set[str]) -> None:
    for line, lineno in zip(rows, row_lines):
        fields = line.split("\t")
        for j, f in enumerate(fields[1:], start=1):
            v = unquote(f)
            if v in na:
                continue
            try:
                float(v)
            except ValueError:
                raise MethylationFormatError(path, lineno, f"field {j + 1} is not a number: {v[:40]!r}") from None
    raise MethylationFormatError(path, None, "the beta table could not be parsed")
