"""Platform annotation (probe → chromosome, position) and genomic CpG order for real methylation data.

GEO lists a series matrix's CpGs by probe ID, which is not genomic order, so a 1-D convolution's "neighbouring
CpGs" would be unrelated sites. A platform annotation puts them back in order. Accepted formats:

* GEO SOFT (``GPL13534_family.soft``): ``^PLATFORM``/``!Platform_…``/``#column = …`` lines, then the table between
  ``!platform_table_begin`` and ``!platform_table_end``;
* GEO's full-table download (``GPL13534-11288.txt``): ``#`` comment lines, then a tab-separated table;
* any tab- (or comma-) separated table whose first line is the header.

The probe ID column is ``ID`` (or ``IlmnID``/``Name``/``probe``), the chromosome ``CHR`` (or ``Chr``/``chromosome``)
and the position ``MAPINFO`` (or ``MapInfo``/``position``/``pos``), matched case-insensitively, as in the Illumina
27k (GPL8490), 450k (GPL13534) and EPIC (GPL21145) platform tables. Files may be gzipped.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from coterie.data.methylation.core import MethylationData, MethylationFormatError
from coterie.data.methylation.files import open_text, unquote

log = logging.getLogger(__name__)

ORDERS: tuple[str, ...] = ("genomic", "original")
_ID_NAMES = ("id", "ilmnid", "name", "probe", "probe_id", "probeid")
_CHR_NAMES = ("chr", "chromosome", "chrom", "seqnames")
_POS_NAMES = ("mapinfo", "position", "pos", "start", "coordinate")
_CHR_RANK = {**{str(i): i for i in range(1, 23)}, "X": 23, "Y": 24, "M": 25}


def normalise_chromosome(name: object) -> str:
    """``"chr7"``/``"7"``/``7`` → ``"7"``, ``"chrX"`` → ``"X"``, ``"MT"`` → ``"M"``; missing → ``""``."""
    if name is None or (isinstance(name, float) and np.isnan(name)):
        return ""
    s = unquote(str(name))
    if s.lower().startswith("chr"):
        s = s[3:]
    if s.endswith(".0") and s[:-2].isdigit():
        s = s[:-2]
    s = s.upper()
    return "M" if s == "MT" else s


def _find_column(header: list[str], names: tuple[str, ...], what: str, path: Path, line: int) -> str:
    lower = {h.lower(): h for h in header}
    for n in names:
        if n in lower:
            return lower[n]
    raise MethylationFormatError(
        path, line, f"no {what} column; expected one of {list(names)} (case-insensitive), header starts {header[:8]}"
    )


def _read_header(fh: object, path: Path) -> tuple[list[str], int, str, str | None]:
    """Skip SOFT/comment lines; return (header fields, header line number, separator, GPL accession or None)."""
    platform = None
    lineno = 0
    while True:
        line = fh.readline()  # type: ignore[attr-defined]
        if not line:
            raise MethylationFormatError(path, None, "no annotation table header found")
        lineno += 1
        text = line.rstrip("\r\n")
        if text.startswith("^PLATFORM") or text.startswith("!Platform_geo_accession"):
            platform = text.split("=", 1)[-1].strip() or platform
        if not text.strip() or text[0] in "^!#":
            continue
        sep = "\t" if "\t" in text else ","
        return [unquote(h) for h in text.split(sep)], lineno, sep, platform


def read_platform_annotation(path: str | Path, ids: set[str] | None = None) -> pd.DataFrame:
    """Read a platform annotation into a DataFrame (probes, 2) indexed by probe ID: ``chromosome`` (str, ``""`` if
    unknown) and ``position`` (int64, ``-1`` if unknown). ``ids`` keeps only those probes (450k/EPIC tables are
    large). ``attrs["platform"]`` holds the GPL accession when the file names one.

    Raises:
        MethylationFormatError: a missing ID/chromosome/position column, a non-integer position or a duplicated
            probe ID, naming the 1-based line.
    """
    path = Path(path)
    with open_text(path) as fh:
        header, header_line, sep, platform = _read_header(fh, path)
        cols = [
            _find_column(header, names, what, path, header_line)
            for names, what in ((_ID_NAMES, "probe ID"), (_CHR_NAMES, "chromosome"), (_POS_NAMES, "position"))
        ]
        df = pd.read_csv(
            fh,
            sep=sep,
            header=None,
            names=header,
            usecols=cols,
            dtype=str,
            quotechar='"',
            keep_default_na=False,
            skip_blank_lines=False,
            engine="c",
        )
    df.columns = ["id", "chromosome", "position"]
    lines = header_line + 1 + np.arange(len(df))
    ok = (df["id"] != "") & ~df["id"].str.startswith("!")
    df, lines = df.loc[ok.to_numpy()], lines[ok.to_numpy()]
    if ids is not None:
        sel = df["id"].isin(ids).to_numpy()
        df, lines = df.loc[sel], lines[sel]
    pos = pd.to_numeric(df["position"].replace("", np.nan), errors="coerce")
    bad = (pos.isna() & (df["position"] != "")).to_numpy() | (pos.notna() & (pos != pos.round())).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise MethylationFormatError(path, int(lines[i]), f"position {df['position'].iloc[i]!r} is not an integer")
    dup = df["id"].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise MethylationFormatError(path, int(lines[i]), f"duplicated probe ID {df['id'].iloc[i]!r}")
    out = pd.DataFrame(
        {
            "chromosome": [normalise_chromosome(c) for c in df["chromosome"]],
            "position": pos.fillna(-1).astype(np.int64).to_numpy(),
        },
        index=pd.Index(df["id"].to_numpy(), name="cpg"),
    )
    out.attrs["platform"] = platform
    return out


def genomic_order(loci: pd.DataFrame) -> np.ndarray:
    """Permutation (CpGs,) sorting ``loci`` by chromosome (1–22, X, Y, M, then others by name) and position; CpGs
    without a chromosome or position go last, in their original order."""
    chrom = loci["chromosome"].astype(str).to_numpy()
    pos = loci["position"].to_numpy(dtype=np.int64)
    unknown = (chrom == "") | (pos < 0)
    others = sorted({c for c in chrom if c and c not in _CHR_RANK})
    rank = {**_CHR_RANK, **{c: 26 + i for i, c in enumerate(others)}}
    chrom_rank = np.array([rank.get(c, 10**6) for c in chrom], dtype=np.int64)
    return np.lexsort((np.arange(len(chrom)), pos, chrom_rank, unknown))


def annotate(data: MethylationData, annotation: str | Path | pd.DataFrame, order: str = "genomic") -> MethylationData:
    """``data`` with ``loci`` from ``annotation`` (a file or a :func:`read_platform_annotation` frame), its CpGs
    sorted by :func:`genomic_order` when ``order == "genomic"`` or kept in file order for ``"original"``."""
    if order not in ORDERS:
        raise ValueError(f"unknown CpG order {order!r}; allowed: {list(ORDERS)}")
    cpgs = data.betas.columns
    table = annotation if isinstance(annotation, pd.DataFrame) else read_platform_annotation(annotation, set(cpgs))
    missing = ~cpgs.isin(table.index)
    if missing.any():
        log.warning(
            "%d of %d CpG(s) are not in the platform annotation (e.g. %s); they go last",
            int(missing.sum()),
            len(cpgs),
            list(cpgs[missing][:5]),
        )
    loci = pd.DataFrame(
        {
            "chromosome": table["chromosome"].reindex(cpgs).fillna("").astype(str).to_numpy(),
            "position": table["position"].reindex(cpgs).fillna(-1).astype(np.int64).to_numpy(),
        },
        index=cpgs,
    )
    platform, ours = table.attrs.get("platform"), data.info.get("platform")
    if platform and ours and platform != ours:
        log.warning("annotation is for %s but the data come from %s", platform, ours)
    betas = data.betas
    if order == "genomic":
        perm = genomic_order(loci)
        betas, loci = betas.iloc[:, perm], loci.iloc[perm]
    return MethylationData(betas, data.ages, {**data.info, "order": order}, loci)


def arrange(data: MethylationData, annotation: str | Path | pd.DataFrame | None, order: str | None) -> MethylationData:
    """Apply a reader's ``annotation``/``order`` arguments: ``order`` defaults to ``"genomic"`` with an annotation
    and must be ``"original"`` (or ``None``) without one."""
    if annotation is None:
        if order not in (None, "original"):
            raise ValueError(
                f"order={order!r} needs a platform annotation (annotation=...); allowed without one: 'original'"
            )
        return data
    return annotate(data, annotation, order or "genomic")
