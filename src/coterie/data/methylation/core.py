"""Methylation cohort container and the reader error shared by every methylation module.

Shapes: ``betas`` is a DataFrame (samples, CpGs) with values in [0, 1]; ``ages`` a Series (samples,) in years;
``loci`` (optional) a DataFrame (CpGs, 2) with columns ``chromosome`` (str) and ``position`` (int, 1-based bp).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from coterie.utils.errors import InputError

log = logging.getLogger(__name__)

NA_STRINGS: tuple[str, ...] = ("", "NA", "N/A", "NaN", "nan", "null", "NULL", "Null", "None", ".")
"""Strings read as a missing beta value (GEO uses ``null``; R exports use ``NA``)."""


class MethylationFormatError(InputError):
    """A methylation file that cannot be read (bad input: ``coterie`` exits 2). ``line`` is the 1-based line number
    (``None`` if not line-bound)."""

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
        loci: optional DataFrame (CpGs, 2) indexed by CpG ID with ``chromosome`` (str, no ``chr`` prefix) and
            ``position`` (int bp; ``-1`` where unknown), one row per column of ``betas`` in the same order. Set by
            the simulator and by the readers when a platform annotation is given.
    """

    betas: pd.DataFrame
    ages: pd.Series
    info: dict[str, Any] = field(default_factory=dict)
    loci: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if not self.betas.index.equals(self.ages.index):
            raise ValueError("betas and ages must share the same sample index, in the same order")
        if self.loci is not None and not self.loci.index.equals(self.betas.columns):
            raise ValueError("loci must be indexed by the CpG IDs of betas, in the same order")

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
        return MethylationData(self.betas.loc[keep], self.ages.loc[keep], dict(self.info), self.loci), dropped
