"""coterie.data.methylation.annotation: GPL platform tables (SOFT, GEO full table, plain TSV) and genomic CpG order
for a GEO series matrix."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coterie.data.methylation import (
    MethylationFormatError,
    genomic_order,
    load_methylation,
    read_geo_series_matrix,
    read_platform_annotation,
)

# GPL13534 (Illumina HumanMethylation450) column order, as in GEO's platform table.
GPL_COLUMNS = str.split(
    "ID Name AddressA_ID AlleleA_ProbeSeq AddressB_ID AlleleB_ProbeSeq Infinium_Design_Type "
    "Next_Base "
    "Color_Channel Forward_Sequence Genome_Build CHR MAPINFO SourceSeq Chromosome_36 Coordinate_36 Strand "
    "Probe_SNPs Probe_SNPs_10 Random_Loci Methyl27_Loci UCSC_RefGene_Name UCSC_RefGene_Accession "
    "UCSC_RefGene_Group UCSC_CpG_Islands_Name Relation_to_UCSC_CpG_Island Phantom DMR Enhancer "
    "HMM_Island Regulatory_Feature_Name Regulatory_Feature_Group DHS SPOT_ID"
)
# (ID, CHR, MAPINFO, Chromosome_36, Coordinate_36): the hg19 columns must be used, not the hg18 ones.
PROBES = [
    ("cg00000029", "16", "53468112", "16", "52025613"),
    ("cg00000108", "3", "37459206", "3", "37434210"),
    ("cg00000109", "3", "171916037", "3", "173398731"),
    ("cg00000165", "1", "91194674", "1", "90967262"),
    ("cg00000236", "8", "42263294", "8", "42382451"),
    ("ch.X.97737721F", "X", "97737721", "X", "97624377"),
]
GENOMIC = ["cg00000165", "cg00000108", "cg00000109", "cg00000236", "cg00000029"]


def _gpl_rows() -> list[str]:
    rows = ["\t".join(GPL_COLUMNS)]
    for pid, chrom, pos, c36, p36 in PROBES:
        f = dict.fromkeys(GPL_COLUMNS, "")
        f.update(
            ID=pid,
            Name=pid,
            AddressA_ID="14782418",
            Infinium_Design_Type="II",
            Color_Channel="",
            Genome_Build="37",
            CHR=chrom,
            MAPINFO=pos,
            Chromosome_36=c36,
            Coordinate_36=p36,
            Strand="F",
            Random_Loci="",
            Methyl27_Loci="TRUE",
            SPOT_ID="",
        )
        rows.append("\t".join(f[c] for c in GPL_COLUMNS))
    return rows


def soft_text() -> str:
    head = [
        "^PLATFORM = GPL13534",
        "!Platform_title = Illumina HumanMethylation450 BeadChip (HumanMethylation450_15017482)",
        "!Platform_geo_accession = GPL13534",
        "!Platform_status = Public on May 11 2011",
        "!Platform_technology = oligonucleotide beads",
        "!Platform_organism = Homo sapiens",
    ]
    head += [f"#{c} = " for c in GPL_COLUMNS]
    return "\n".join([*head, "!platform_table_begin", *_gpl_rows(), "!platform_table_end"]) + "\n"


def full_table_text() -> str:
    comments = ["# ID = ", "# Name = ", "# CHR = Chromosome", "# MAPINFO = Coordinate in Genome Build 37"]
    return "\n".join(comments + _gpl_rows()) + "\n"


SERIES = """!Series_title\t"Whole blood methylation"
!Series_geo_accession\t"GSE000002"
!Series_platform_id\t"GPL13534"
!Sample_geo_accession\t"GSM1"\t"GSM2"\t"GSM3"
!Sample_characteristics_ch1\t"age: 25"\t"age: 61"\t"age: 40"
!series_matrix_table_begin
"ID_REF"\t"GSM1"\t"GSM2"\t"GSM3"
"cg00000029"\t0.1\t0.2\t0.3
"cg00000108"\t0.4\t0.5\t0.6
"cg00000109"\t0.7\t0.8\tnull
"cg00000165"\t0.11\t0.12\t0.13
"cg00000236"\t0.21\t0.22\t0.23
"cg99999999"\t0.31\t0.32\t0.33
!series_matrix_table_end
"""


@pytest.mark.parametrize("kind", ["soft", "soft.gz", "full_table", "plain"])
def test_read_platform_annotation_formats(tmp_path: Path, kind: str) -> None:
    p = tmp_path / f"GPL13534.{kind}.txt"
    if kind == "soft":
        p.write_text(soft_text())
    elif kind == "soft.gz":
        p.write_bytes(gzip.compress(soft_text().encode()))
    elif kind == "full_table":
        p.write_text(full_table_text())
    else:
        p.write_text("ID\tCHR\tMAPINFO\n" + "\n".join(f"{a}\tchr{b}\t{c}" for a, b, c, _, _ in PROBES) + "\n")
    ann = read_platform_annotation(p)
    assert list(ann.index) == [r[0] for r in PROBES]
    assert list(ann["chromosome"]) == [r[1] for r in PROBES]
    assert list(ann["position"]) == [int(r[2]) for r in PROBES]
    assert ann.attrs["platform"] == ("GPL13534" if kind.startswith("soft") else None)


def test_series_matrix_in_genomic_order_with_annotation(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "gpl.soft").write_text(soft_text())
    (tmp_path / "GSE2_series_matrix.txt").write_text(SERIES)
    data = read_geo_series_matrix(tmp_path / "GSE2_series_matrix.txt", annotation=tmp_path / "gpl.soft")
    assert list(data.betas.columns) == [*GENOMIC, "cg99999999"]  # unannotated probe last, with a warning
    assert "not in the platform annotation" in caplog.text
    assert data.loci is not None and list(data.loci["chromosome"]) == ["1", "3", "3", "8", "16", ""]
    assert list(data.loci["position"])[:3] == [91194674, 37459206, 171916037]
    assert data.betas.loc["GSM2", "cg00000165"] == pytest.approx(0.12)  # values follow their columns
    assert np.isnan(data.betas.loc["GSM3", "cg00000109"])
    kept = load_methylation(tmp_path / "GSE2_series_matrix.txt", annotation=tmp_path / "gpl.soft", order="original")
    assert list(kept.betas.columns)[:3] == ["cg00000029", "cg00000108", "cg00000109"]
    assert kept.loci is not None and kept.loci.loc["cg00000029", "position"] == 53468112
    plain = read_geo_series_matrix(tmp_path / "GSE2_series_matrix.txt")
    assert plain.loci is None and plain.info["platform"] == "GPL13534"
    with pytest.raises(ValueError, match="needs a platform annotation"):
        read_geo_series_matrix(tmp_path / "GSE2_series_matrix.txt", order="genomic")
    with pytest.raises(ValueError, match="allowed"):
        read_geo_series_matrix(tmp_path / "GSE2_series_matrix.txt", annotation=tmp_path / "gpl.soft", order="id")


def test_table_file_takes_an_annotation_too(tmp_path: Path) -> None:
    df = pd.DataFrame({"sample": ["a", "b"], "age": [30, 50], "cg00000029": [0.1, 0.2], "cg00000165": [0.3, 0.4]})
    df.to_csv(tmp_path / "m.csv", index=False)
    ann = pd.DataFrame(
        {"chromosome": ["16", "1"], "position": [53468112, 91194674]},
        index=pd.Index(["cg00000029", "cg00000165"], name="cpg"),
    )
    data = load_methylation(tmp_path / "m.csv", annotation=ann)
    assert list(data.betas.columns) == ["cg00000165", "cg00000029"]


def test_genomic_order_ranks_chromosomes_numerically() -> None:
    loci = pd.DataFrame(
        {"chromosome": ["10", "2", "X", "", "2", "Y", "1", "M"], "position": [5, 9, 1, 3, 4, 2, 100, 7]}
    )
    assert list(genomic_order(loci)) == [6, 4, 1, 0, 2, 5, 7, 3]


def test_annotation_errors_name_the_line(tmp_path: Path) -> None:
    bad = soft_text().replace("\t53468112\t", "\t53468x12\t")
    (tmp_path / "a.soft").write_text(bad)
    with pytest.raises(MethylationFormatError) as e:
        read_platform_annotation(tmp_path / "a.soft")
    assert e.value.line == soft_text().splitlines().index(_gpl_rows()[1]) + 1 and "53468x12" in str(e.value)
    (tmp_path / "b.txt").write_text("ID\tChromosome_36\tCoordinate_36\ncg1\t1\t5\n")
    with pytest.raises(MethylationFormatError, match="no chromosome column") as e:
        read_platform_annotation(tmp_path / "b.txt")
    assert e.value.line == 1
    (tmp_path / "c.txt").write_text("ID\tCHR\tMAPINFO\ncg1\t1\t5\ncg2\t1\t6\ncg1\t2\t7\n")
    with pytest.raises(MethylationFormatError, match="duplicated probe ID 'cg1'") as e:
        read_platform_annotation(tmp_path / "c.txt")
    assert e.value.line == 4
