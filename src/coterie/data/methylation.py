"""DNA methylation data for age prediction (seed 001, Co-DeepNet).

Everything a methylation-clock experiment needs before the models see a tensor:

* :func:`read_geo_series_matrix` — GEO ``GSE…_series_matrix.txt`` files (plain or ``.gz``): sample IDs, ages parsed
  from the ``!Sample_characteristics_ch1`` rows and the beta-value table. Malformed lines raise
  :class:`MethylationFormatError` naming the file and the 1-based line number; samples are never dropped silently
  (a sample whose age cannot be parsed keeps ``NaN`` and is reported by :meth:`MethylationData.drop_missing_ages`).
* :func:`read_methylation_table` — a samples × CpGs CSV / TSV / parquet table with an age column.
* :func:`load_methylation` — either of the two, chosen from the file's content.
* :func:`simulate_methylation` — a seeded simulator of beta values against age through Horvath's log-linear
  transform :func:`horvath_transform`, for development and tests.
* :func:`split_samples` — age-stratified train / validation / test indices.
* :class:`MethylationPreprocessor` — missing-value imputation and CpG selection by correlation with age, both
  fitted on the training split only and then applied unchanged to validation and test.

Shapes: ``betas`` is a DataFrame of (samples, CpGs) with values in [0, 1]; ``ages`` a Series of (samples,) in
years; :meth:`MethylationPreprocessor.transform` returns a float32 array of (samples, selected CpGs).
"""

from __future__ import annotations

import gzip
import io
import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

NA_STRINGS: tuple[str, ...] = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "Null", "None", ".")
"""Strings read as a missing beta value (GEO uses ``null``; R exports use ``NA``)."""

_AGE_KEY = re.compile(r"^\s*(?:age|sample[ _]age|donor[ _]age|age[ _]at[ _]\w+)\b[^:]*:\s*(.*)$", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_TIME_UNITS = {"y": 1.0, "yr": 1.0, "yrs": 1.0, "year": 1.0, "years": 1.0, "m": 1 / 12, "mo": 1 / 12, "month": 1 / 12,
               "months": 1 / 12, "w": 7 / 365.25, "wk": 7 / 365.25, "week": 7 / 365.25, "weeks": 7 / 365.25,
               "d": 1 / 365.25, "day": 1 / 365.25, "days": 1 / 365.25}


class MethylationFormatError(ValueError):
    """A methylation file that cannot be read. ``line`` is the 1-based line number (``None`` if not line-bound)."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        self.path = str(path)
        self.line = line
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


@dataclass
class MethylationData:
    """A methylation cohort.

    Attributes:
        betas: DataFrame (samples, CpGs) of beta values in [0, 1] (``NaN`` where missing), indexed by sample ID,
            columns CpG IDs in file (or genomic) order.
        ages: Series (samples,) of chronological ages in years, same index as ``betas``; ``NaN`` where unknown.
        info: free-form provenance (source file, simulator ground truth, ...).
    """

    betas: pd.DataFrame
    ages: pd.Series
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.betas.index.equals(self.ages.index):
            raise ValueError("betas and ages must share the same sample index, in the same order")

    @property
    def n_samples(self) -> int:
        return int(self.betas.shape[0])

    @property
    def n_cpgs(self) -> int:
        return int(self.betas.shape[1])

    def drop_missing_ages(self) -> tuple[MethylationData, list[str]]:
        """Remove samples without an age, returning the cleaned data and the removed sample IDs (also logged)."""
        missing = self.ages.isna()
        dropped = [str(s) for s in self.ages.index[missing]]
        if dropped:
            log.warning("dropping %d sample(s) without a parsable age: %s", len(dropped), dropped[:10])
        keep = ~missing.to_numpy()
        return MethylationData(self.betas.loc[keep], self.ages.loc[keep], dict(self.info)), dropped


# --------------------------------------------------------------------------------------------------------------------
# Horvath's age transform
# --------------------------------------------------------------------------------------------------------------------


def horvath_transform(age: np.ndarray | float, adult_age: float = 20.0) -> np.ndarray:
    """Horvath (2013) log-linear age transform F.

    ``F(age) = log(age + 1) − log(adult_age + 1)`` for ``age ≤ adult_age`` and ``(age − adult_age) / (adult_age + 1)``
    after. F is continuous with a continuous first derivative at ``adult_age``; methylation changes fast in
    childhood and linearly in adulthood.
    """
    a = np.asarray(age, dtype=np.float64)
    young = np.log(np.clip(a, -0.999, None) + 1.0) - math.log(adult_age + 1.0)
    old = (a - adult_age) / (adult_age + 1.0)
    return np.where(a <= adult_age, young, old)


def horvath_inverse(f: np.ndarray | float, adult_age: float = 20.0) -> np.ndarray:
    """Inverse of :func:`horvath_transform`: ages in years from F values."""
    v = np.asarray(f, dtype=np.float64)
    young = np.exp(np.minimum(v, 0.0) + math.log(adult_age + 1.0)) - 1.0
    old = v * (adult_age + 1.0) + adult_age
    return np.where(v <= 0.0, young, old)


def parse_age(text: str) -> float | None:
    """Age in years from a GEO characteristic such as ``"age: 32"``, ``"age (y): 32.5"``, ``"Age at draw: 61 years"``.

    Returns ``None`` if ``text`` is not an age characteristic; ``NaN`` if it is one whose value is missing or not a
    number (``"age: NA"``). Values with a month / week / day unit (``"age: 18 months"``) are converted to years.
    """
    m = _AGE_KEY.match(text.strip().strip('"'))
    if m is None:
        return None
    key = text.split(":", 1)[0].lower()
    if "gestation" in key:
        return None
    value = m.group(1).strip()
    num = _NUMBER.search(value)
    if num is None:
        return float("nan")
    years = float(num.group(0))
    unit_text = value[num.end():].strip().lower().strip(".")
    unit_key = re.match(r"[a-z]*", unit_text)
    unit = unit_key.group(0) if unit_key else ""
    key_unit = re.search(r"\((\w+)\)", key)
    if not unit and key_unit:
        unit = key_unit.group(1)
    return years * _TIME_UNITS.get(unit, 1.0)


# --------------------------------------------------------------------------------------------------------------------
# GEO series matrix
# --------------------------------------------------------------------------------------------------------------------


def _open_text(path: Path) -> io.TextIOBase:
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace")
    return open(path, encoding="utf-8", errors="replace")


def _unquote(field: str) -> str:
    f = field.strip()
    if len(f) >= 2 and f[0] == '"' and f[-1] == '"':
        return f[1:-1]
    return f


def read_geo_series_matrix(
    path: str | Path,
    cpgs: Sequence[str] | None = None,
    na_values: Sequence[str] = NA_STRINGS,
) -> MethylationData:
    """Read a GEO series-matrix file (``GSE…_series_matrix.txt`` or ``.txt.gz``) of methylation beta values.

    The header lines start with ``!``; the sample accessions come from ``!Sample_geo_accession`` (and must equal the
    table header), the ages from whichever ``!Sample_characteristics_ch1`` row carries ``age…: value`` for a sample
    (see :func:`parse_age`). The table lies between ``!series_matrix_table_begin`` and ``!series_matrix_table_end``:
    a header ``"ID_REF" "GSM…" …`` and one tab-separated row per CpG, IDs quoted, values numeric or a missing marker
    (``null``, ``NA``, empty).

    Args:
        path: the file; gzip is detected from its magic bytes, not its name.
        cpgs: keep only these CpG IDs (saves memory on 450k/EPIC arrays); ``None`` keeps all.
        na_values: strings read as missing.

    Returns:
        :class:`MethylationData` with ``betas`` (samples, CpGs) and ``ages`` (samples,); samples whose age is absent
        keep ``NaN`` (never dropped here).

    Raises:
        MethylationFormatError: naming the line number of a malformed line: a row with the wrong number of fields, a
            value that is not a number, a duplicated sample or CpG ID, a header row that disagrees with the table,
            a missing table section.
    """
    path = Path(path)
    keep = set(cpgs) if cpgs is not None else None
    accessions: list[str] | None = None
    accession_line = 0
    characteristics: list[tuple[int, list[str]]] = []
    header: list[str] | None = None
    header_line = 0
    rows: list[str] = []
    row_lines: list[int] = []
    in_table = False
    ended = False
    n_fields = 0
    with _open_text(path) as fh:
        for lineno, raw in enumerate(fh, start=1):
            line = raw.rstrip("\r\n")
            if not in_table:
                if not line.strip():
                    continue
                low = line.lower()
                if low.startswith("!series_matrix_table_begin"):
                    in_table = True
                    continue
                if low.startswith("!series_matrix_table_end"):
                    raise MethylationFormatError(path, lineno, "table end marker before its begin marker")
                if not line.startswith("!"):
                    if ended:
                        raise MethylationFormatError(path, lineno, "unexpected content after the table end marker")
                    raise MethylationFormatError(path, lineno, f"header line does not start with '!': {line[:60]!r}")
                key, _, rest = line.partition("\t")
                key = key.strip()
                values = [_unquote(v) for v in rest.split("\t")] if rest else []
                if key == "!Sample_geo_accession":
                    accessions, accession_line = values, lineno
                elif key == "!Sample_characteristics_ch1":
                    characteristics.append((lineno, values))
                continue
            # inside the table
            if line.lower().startswith("!series_matrix_table_end"):
                in_table, ended = False, True
                continue
            if not line.strip():
                continue
            if header is None:
                header = [_unquote(v) for v in line.split("\t")]
                header_line = lineno
                n_fields = len(header)
                if n_fields < 2:
                    raise MethylationFormatError(path, lineno, "table header has no sample columns")
                if len(set(header[1:])) != n_fields - 1:
                    raise MethylationFormatError(path, lineno, "duplicated sample ID in the table header")
                continue
            got = line.count("\t") + 1
            if got != n_fields:
                raise MethylationFormatError(
                    path, lineno, f"expected {n_fields} tab-separated fields (ID + {n_fields - 1} samples), got {got}"
                )
            if keep is not None:
                cpg = _unquote(line[: line.index("\t")])
                if cpg not in keep:
                    continue
            rows.append(line)
            row_lines.append(lineno)
    if header is None:
        raise MethylationFormatError(path, None, "no '!series_matrix_table_begin' section with a header row found")
    if in_table:
        raise MethylationFormatError(path, None, "missing '!series_matrix_table_end' marker (truncated file?)")
    samples = header[1:]
    if accessions is not None and accessions != samples:
        raise MethylationFormatError(
            path, accession_line, f"!Sample_geo_accession lists {len(accessions)} samples that differ from the table "
            f"header at line {header_line}"
        )
    ages = _ages_from_characteristics(path, characteristics, samples)
    betas = _parse_table(path, rows, row_lines, samples, na_values)
    betas = betas.T
    betas.index.name = "sample"
    betas.columns.name = "cpg"
    out_of_range = ((betas < 0) | (betas > 1)).to_numpy().any(axis=0)
    if out_of_range.any():
        log.warning("%s: %d CpG(s) have values outside [0, 1] (M-values rather than betas?)", path,
                    int(out_of_range.sum()))
    n_missing_age = int(ages.isna().sum())
    if n_missing_age:
        log.warning("%s: %d of %d samples have no parsable age", path, n_missing_age, len(samples))
    return MethylationData(betas, ages, {"source": str(path), "format": "geo_series_matrix"})


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
            io.StringIO(text), sep="\t", header=None, index_col=0, quotechar='"', na_values=na,
            keep_default_na=False, dtype={i: np.float64 for i in range(1, len(samples) + 1)}, engine="c",
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
            v = _unquote(f)
            if v in na:
                continue
            try:
                float(v)
            except ValueError:
                raise MethylationFormatError(path, lineno, f"field {j + 1} is not a number: {v[:40]!r}") from None
    raise MethylationFormatError(path, None, "the beta table could not be parsed")


# --------------------------------------------------------------------------------------------------------------------
# CSV / TSV / parquet
# --------------------------------------------------------------------------------------------------------------------


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
        if not (_importable("pyarrow") or _importable("fastparquet")):
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


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def load_methylation(path: str | Path, age_column: str = "age", **kwargs: Any) -> MethylationData:
    """Read a GEO series matrix or a samples × CpGs table, choosing by content (a first line starting with ``!``)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"methylation data file not found: {path}")
    if path.suffix.lower() not in (".parquet", ".pq"):
        with _open_text(path) as fh:
            first = fh.readline()
        if first.startswith("!"):
            return read_geo_series_matrix(path, **kwargs)
    return read_methylation_table(path, age_column=age_column, **kwargs)


# --------------------------------------------------------------------------------------------------------------------
# Simulator
# --------------------------------------------------------------------------------------------------------------------


def simulate_methylation(
    n_samples: int = 600,
    n_cpgs: int = 2000,
    n_age_cpgs: int = 200,
    *,
    seed: int = 0,
    age_range: tuple[float, float] = (0.0, 100.0),
    adult_age: float = 20.0,
    cluster_size: int = 5,
    slope_range: tuple[float, float] = (0.05, 0.3),
    neighbor_corr: float = 0.5,
    noise_sd: float = 0.3,
    heteroscedasticity: float = 1.0,
    n_batches: int = 1,
    batch_sd: float = 0.2,
    missing_rate: float = 0.0,
) -> MethylationData:
    """Simulate a cohort of beta values against age, in genomic order.

    On the logit (M-value) scale, CpG j of sample i with age a_i is::

        M_ij = μ_j + s_j · F(a_i) + b_{batch(i), j} + σ(a_i) · e_ij,      β_ij = sigmoid(M_ij)

    * F is Horvath's transform (:func:`horvath_transform`): fast change in childhood, linear after ``adult_age``.
    * μ_j: baseline methylation, bimodal like real arrays (≈40 % low, 40 % high, 20 % intermediate); age-associated
      sites are intermediate.
    * s_j: zero except on ``n_age_cpgs`` sites laid out in contiguous clusters of ``cluster_size`` neighbours that
      share the sign of their slope (half the clusters gain, half lose methylation with age); |s_j| is drawn in
      ``slope_range`` per F unit (F spans about −3 … 3.8 over 0–100 years).
    * e_ij: an AR(1) process along the CpG axis with correlation ``neighbor_corr`` between neighbouring sites.
    * σ(a) = ``noise_sd`` · (1 + ``heteroscedasticity`` · a / 100): noise grows with age (epigenetic drift).
    * b: per-batch, per-CpG offsets of standard deviation ``batch_sd`` when ``n_batches > 1`` (samples assigned to
      batches uniformly at random).
    * ``missing_rate``: fraction of values replaced by ``NaN`` at random.

    Ages are uniform over ``age_range``, rounded to 0.1 year. Everything is drawn from one
    ``numpy.random.default_rng(seed)``: the same arguments give the same cohort.

    Returns:
        :class:`MethylationData` with betas (n_samples, n_cpgs) in (0, 1); ``info`` holds the ground truth:
        ``age_cpgs`` (IDs), ``slopes`` (n_cpgs,), ``batch`` (n_samples,).
    """
    if not 0 <= n_age_cpgs <= n_cpgs:
        raise ValueError(f"n_age_cpgs must lie in [0, n_cpgs={n_cpgs}], got {n_age_cpgs}")
    if not 0.0 <= missing_rate < 1.0:
        raise ValueError(f"missing_rate must lie in [0, 1), got {missing_rate}")
    rng = np.random.default_rng(seed)
    ages = np.round(rng.uniform(age_range[0], age_range[1], size=n_samples), 1)
    f_age = horvath_transform(ages, adult_age)

    # baselines: bimodal
    kind = rng.choice(3, size=n_cpgs, p=[0.4, 0.4, 0.2])
    mu = np.where(kind == 0, rng.normal(-2.5, 0.6, n_cpgs), np.where(kind == 1, rng.normal(2.5, 0.6, n_cpgs),
                                                                       rng.normal(0.0, 0.8, n_cpgs)))
    # age-associated clusters at random non-overlapping positions
    slopes = np.zeros(n_cpgs)
    n_clusters = math.ceil(n_age_cpgs / max(cluster_size, 1)) if n_age_cpgs else 0
    n_slots = n_cpgs // max(cluster_size, 1)
    if n_clusters > n_slots:
        raise ValueError("too many age clusters for n_cpgs; lower n_age_cpgs or cluster_size")
    slots = np.sort(rng.choice(n_slots, size=n_clusters, replace=False)) if n_clusters else np.array([], dtype=int)
    remaining = n_age_cpgs
    for k, slot in enumerate(slots):
        size = min(cluster_size, remaining)
        remaining -= size
        sign = 1.0 if k % 2 == 0 else -1.0
        base = rng.uniform(*slope_range)
        idx = np.arange(slot * cluster_size, slot * cluster_size + size)
        slopes[idx] = sign * np.clip(base * rng.uniform(0.7, 1.3, size), slope_range[0] * 0.5, None)
        mu[idx] = rng.normal(0.0, 0.7, size)  # intermediate methylation where age acts
    # AR(1) noise along the genome
    z = rng.standard_normal((n_samples, n_cpgs))
    e = np.empty_like(z)
    e[:, 0] = z[:, 0]
    rho = float(neighbor_corr)
    scale = math.sqrt(max(1.0 - rho * rho, 0.0))
    for j in range(1, n_cpgs):
        e[:, j] = rho * e[:, j - 1] + scale * z[:, j]
    sigma = noise_sd * (1.0 + heteroscedasticity * (ages - age_range[0]) / 100.0)
    m = mu[None, :] + f_age[:, None] * slopes[None, :] + sigma[:, None] * e
    batch = rng.integers(0, max(n_batches, 1), size=n_samples)
    if n_batches > 1:
        offsets = rng.normal(0.0, batch_sd, size=(n_batches, n_cpgs))
        m = m + offsets[batch]
    betas = 1.0 / (1.0 + np.exp(-m))
    betas = np.clip(betas, 1e-4, 1 - 1e-4)
    if missing_rate > 0:
        betas[rng.random(betas.shape) < missing_rate] = np.nan
    width = max(8, len(str(n_cpgs)))
    cpg_ids = [f"cg{j:0{width}d}" for j in range(n_cpgs)]
    sample_ids = [f"S{i:05d}" for i in range(n_samples)]
    frame = pd.DataFrame(betas, index=pd.Index(sample_ids, name="sample"), columns=pd.Index(cpg_ids, name="cpg"))
    age_s = pd.Series(ages, index=frame.index, name="age")
    info = {
        "source": "simulated",
        "seed": seed,
        "age_cpgs": [cpg_ids[j] for j in np.flatnonzero(slopes)],
        "slopes": slopes,
        "batch": batch,
    }
    return MethylationData(frame, age_s, info)


# --------------------------------------------------------------------------------------------------------------------
# Splits and preprocessing (fitted on the training split only)
# --------------------------------------------------------------------------------------------------------------------


def split_samples(
    ages: np.ndarray | pd.Series,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    n_strata: int = 5,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Age-stratified random split into train / validation / test index arrays.

    Samples are binned into ``n_strata`` age quantiles and each bin is split in the given fractions, so each split
    spans the whole age range. The three index arrays are disjoint, sorted, and cover every sample.
    """
    a = np.asarray(ages, dtype=np.float64)
    if np.isnan(a).any():
        raise ValueError("split_samples needs every age; drop samples without one first (drop_missing_ages)")
    if val_fraction < 0 or test_fraction < 0 or val_fraction + test_fraction >= 1:
        raise ValueError("need val_fraction, test_fraction >= 0 with val_fraction + test_fraction < 1")
    rng = np.random.default_rng(seed)
    n_strata = max(1, min(n_strata, len(a) // 5 or 1))
    edges = np.quantile(a, np.linspace(0, 1, n_strata + 1)[1:-1])
    strata = np.searchsorted(edges, a, side="right")
    tr, va, te = [], [], []
    for s in np.unique(strata):
        idx = rng.permutation(np.flatnonzero(strata == s))
        n_te = round(len(idx) * test_fraction)
        n_va = round(len(idx) * val_fraction)
        te.append(idx[:n_te])
        va.append(idx[n_te:n_te + n_va])
        tr.append(idx[n_te + n_va:])
    return tuple(np.sort(np.concatenate(x)).astype(np.int64) for x in (tr, va, te))  # type: ignore[return-value]


def age_correlation(
    betas: pd.DataFrame | np.ndarray,
    ages: pd.Series | np.ndarray,
    method: Literal["pearson", "spearman"] = "pearson",
    target: Literal["age", "horvath"] = "age",
    adult_age: float = 20.0,
) -> np.ndarray:
    """Correlation (CpGs,) of each CpG with age (or with Horvath's F(age)), ignoring missing values per CpG."""
    x = np.asarray(betas, dtype=np.float64)
    y = np.asarray(ages, dtype=np.float64)
    if target == "horvath":
        y = horvath_transform(y, adult_age)
    if method == "spearman":
        x = pd.DataFrame(x).rank(axis=0).to_numpy()
        y = pd.Series(y).rank().to_numpy()
    mask = ~np.isnan(x)
    n = mask.sum(0).astype(np.float64)
    ym = np.where(mask, y[:, None], 0.0)
    xm = np.where(mask, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mx = xm.sum(0) / n
        my = ym.sum(0) / n
        dx = np.where(mask, x - mx, 0.0)
        dy = np.where(mask, y[:, None] - my, 0.0)
        r = (dx * dy).sum(0) / np.sqrt((dx * dx).sum(0) * (dy * dy).sum(0))
    return np.nan_to_num(r, nan=0.0)


@dataclass
class MethylationPreprocessor:
    """Imputation and CpG selection, fitted on the training split only.

    ``fit`` on the training samples:

    1. drops CpGs missing in more than ``max_missing_fraction`` of the training samples;
    2. learns the imputation value of each remaining CpG: its training ``median`` (default; robust to the bimodal
       beta distribution) or ``mean``;
    3. ranks the CpGs by |correlation| with age on the (imputed) training samples (``method`` Pearson or Spearman,
       ``target`` age or Horvath's F(age)) and keeps the ``n_cpgs`` strongest (all if ``n_cpgs`` is ``None``);
    4. orders the kept CpGs by ``order``: ``"original"`` keeps file order (genomic order for the simulator and for
       files sorted by position, so the 1-D convolutions see neighbouring sites side by side), ``"correlation"``
       sorts them by signed correlation (gaining sites, then losing ones), which gives convolutions a smooth
       profile when the file order is arbitrary (e.g. probe IDs sorted alphabetically).

    ``transform`` applies the same columns and imputation values to any split. No scaling happens here: the neural
    models normalise inside (per-CpG mean/std from the training split), the scikit-learn baselines use a
    ``StandardScaler`` fitted on the training split.
    """

    n_cpgs: int | None = 200
    method: Literal["pearson", "spearman"] = "pearson"
    target: Literal["age", "horvath"] = "age"
    imputation: Literal["median", "mean"] = "median"
    max_missing_fraction: float = 0.2
    order: Literal["original", "correlation"] = "original"
    adult_age: float = 20.0
    selected_: list[str] = field(default_factory=list, init=False)
    fill_values_: pd.Series | None = field(default=None, init=False)
    correlations_: pd.Series | None = field(default=None, init=False)
    dropped_missing_: list[str] = field(default_factory=list, init=False)

    def fit(self, betas: pd.DataFrame, ages: pd.Series | np.ndarray) -> MethylationPreprocessor:
        """Learn columns and imputation values from the training samples ``betas`` (n_train, CpGs)."""
        if len(betas) != len(ages):
            raise ValueError("betas and ages have different numbers of samples")
        frac = betas.isna().mean(axis=0)
        ok = frac <= self.max_missing_fraction
        self.dropped_missing_ = [str(c) for c in betas.columns[~ok.to_numpy()]]
        if self.dropped_missing_:
            log.info("dropping %d CpG(s) missing in > %.0f%% of training samples", len(self.dropped_missing_),
                     100 * self.max_missing_fraction)
        kept = betas.loc[:, ok.to_numpy()]
        if kept.shape[1] == 0:
            raise ValueError("no CpG passes the missing-value filter on the training split")
        fill = kept.median(axis=0) if self.imputation == "median" else kept.mean(axis=0)
        fill = fill.fillna(0.5)
        imputed = kept.fillna(fill)
        r = age_correlation(imputed.to_numpy(), np.asarray(ages), self.method, self.target, self.adult_age)
        corr = pd.Series(r, index=kept.columns)
        k = len(corr) if self.n_cpgs is None else min(self.n_cpgs, len(corr))
        top = np.argsort(-np.abs(r), kind="stable")[:k]
        if self.order == "original":
            chosen = np.sort(top)
        else:
            chosen = top[np.argsort(-r[top], kind="stable")]
        self.selected_ = [str(c) for c in kept.columns[chosen]]
        self.fill_values_ = fill.loc[self.selected_]
        self.correlations_ = corr.loc[self.selected_]
        return self

    def transform(self, betas: pd.DataFrame) -> np.ndarray:
        """Selected, imputed betas as float32 (samples, n_selected) in the fitted column order."""
        if self.fill_values_ is None:
            raise RuntimeError("MethylationPreprocessor.transform called before fit")
        missing = [c for c in self.selected_ if c not in betas.columns]
        if missing:
            raise KeyError(f"{len(missing)} selected CpG(s) absent from this table, e.g. {missing[:5]}")
        x = betas.loc[:, self.selected_].fillna(self.fill_values_)
        return x.to_numpy(dtype=np.float32)

    def fit_transform(self, betas: pd.DataFrame, ages: pd.Series | np.ndarray) -> np.ndarray:
        return self.fit(betas, ages).transform(betas)
