"""coterie.data.methylation: GEO reader, table reader, simulator, splits, train-only preprocessing."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from coterie.data.methylation import (
    MethylationFormatError,
    MethylationPreprocessor,
    horvath_inverse,
    horvath_transform,
    load_methylation,
    parse_age,
    read_geo_series_matrix,
    read_methylation_table,
    simulate_methylation,
    split_samples,
)

GEO_TEXT = """!Series_title\t"DNA methylation of whole blood in healthy donors"
!Series_geo_accession\t"GSE000001"
!Series_platform_id\t"GPL13534"

!Sample_title\t"donor 1"\t"donor 2"\t"donor 3"\t"donor 4"
!Sample_geo_accession\t"GSM100"\t"GSM101"\t"GSM102"\t"GSM103"
!Sample_source_name_ch1\t"whole blood"\t"whole blood"\t"whole blood"\t"whole blood"
!Sample_characteristics_ch1\t"gender: F"\t"gender: M"\t"gender: F"\t"gender: M"
!Sample_characteristics_ch1\t"age (y): 32"\t"age (y): 67.5"\t"age (y): NA"\t"age (y): 18 months"
!Sample_characteristics_ch1\t"tissue: blood"\t"tissue: blood"\t"tissue: blood"\t"tissue: blood"
!series_matrix_table_begin
"ID_REF"\t"GSM100"\t"GSM101"\t"GSM102"\t"GSM103"
"cg00000029"\t0.512\t0.634\tnull\t0.45
"cg00000108"\t0.91\tNA\t0.88\t0.93
"cg00000109"\t0.05\t0.07\t0.06\t
"cg00000165"\t0.33\t0.31\t0.29\t0.35
!series_matrix_table_end
"""


def _write(tmp_path: Path, text: str, name: str = "GSE000001_series_matrix.txt", gz: bool = False) -> Path:
    p = tmp_path / (name + (".gz" if gz else ""))
    if gz:
        with gzip.open(p, "wt") as f:
            f.write(text)
    else:
        p.write_text(text)
    return p


@pytest.mark.parametrize("gz", [False, True])
def test_geo_reader_parses_ids_ages_and_missing_values(tmp_path: Path, gz: bool) -> None:
    data = read_geo_series_matrix(_write(tmp_path, GEO_TEXT, gz=gz))
    assert list(data.betas.index) == ["GSM100", "GSM101", "GSM102", "GSM103"]
    assert list(data.betas.columns) == ["cg00000029", "cg00000108", "cg00000109", "cg00000165"]
    assert data.betas.shape == (4, 4)
    assert data.betas.loc["GSM100", "cg00000029"] == pytest.approx(0.512)
    assert np.isnan(data.betas.loc["GSM102", "cg00000029"])  # null
    assert np.isnan(data.betas.loc["GSM101", "cg00000108"])  # NA
    assert np.isnan(data.betas.loc["GSM103", "cg00000109"])  # empty
    assert data.ages["GSM100"] == 32.0 and data.ages["GSM101"] == 67.5
    assert np.isnan(data.ages["GSM102"])  # age: NA is kept, not dropped
    assert data.ages["GSM103"] == pytest.approx(1.5)  # 18 months
    cleaned, dropped = data.drop_missing_ages()
    assert dropped == ["GSM102"] and cleaned.n_samples == 3


def test_geo_reader_gzip_detected_by_content_and_dispatch(tmp_path: Path) -> None:
    p = tmp_path / "matrix.txt"
    p.write_bytes(gzip.compress(GEO_TEXT.encode()))
    assert load_methylation(p).betas.shape == (4, 4)


def test_geo_reader_cpg_subset(tmp_path: Path) -> None:
    data = read_geo_series_matrix(_write(tmp_path, GEO_TEXT), cpgs=["cg00000165", "cg00000029"])
    assert sorted(data.betas.columns) == ["cg00000029", "cg00000165"]


@pytest.mark.parametrize("gz", [False, True])
def test_geo_reader_wrong_field_count_names_line(tmp_path: Path, gz: bool) -> None:
    bad = GEO_TEXT.replace('"cg00000165"\t0.33\t0.31\t0.29\t0.35', '"cg00000165"\t0.33\t0.31\t0.29')
    with pytest.raises(MethylationFormatError) as e:
        read_geo_series_matrix(_write(tmp_path, bad, gz=gz))
    assert e.value.line == 16
    assert ":16:" in str(e.value)


def test_geo_reader_non_numeric_value_names_line(tmp_path: Path) -> None:
    bad = GEO_TEXT.replace("0.91\tNA", "0.91\tabc")
    with pytest.raises(MethylationFormatError) as e:
        read_geo_series_matrix(_write(tmp_path, bad))
    assert e.value.line == 14 and "abc" in str(e.value)


def test_geo_reader_structural_errors(tmp_path: Path) -> None:
    truncated = GEO_TEXT.replace("!series_matrix_table_end\n", "")
    with pytest.raises(MethylationFormatError, match="table_end"):
        read_geo_series_matrix(_write(tmp_path, truncated, name="a.txt"))
    mismatch = GEO_TEXT.replace('"GSM103"\n', '"GSM999"\n', 1)
    with pytest.raises(MethylationFormatError) as e:
        read_geo_series_matrix(_write(tmp_path, mismatch, name="b.txt"))
    assert e.value.line == 6
    short_char = GEO_TEXT.replace('\t"tissue: blood"\t"tissue: blood"\n', "\n")
    with pytest.raises(MethylationFormatError) as e:
        read_geo_series_matrix(_write(tmp_path, short_char, name="c.txt"))
    assert e.value.line == 10
    stray = GEO_TEXT.replace("!Sample_source_name_ch1", "Sample_source_name_ch1")
    with pytest.raises(MethylationFormatError) as e:
        read_geo_series_matrix(_write(tmp_path, stray, name="d.txt"))
    assert e.value.line == 7


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("age: 32", 32.0),
        ("Age (years): 45.5", 45.5),
        ("age at draw: 61 years", 61.0),
        ("age: 6 months", 0.5),
        ("gender: F", None),
        ("gestational age: 30", None),
    ],
)
def test_parse_age(text: str, expected: float | None) -> None:
    assert parse_age(text) == (pytest.approx(expected) if expected is not None else None)


def test_table_reader_csv_tsv_and_parquet_message(tmp_path: Path) -> None:
    df = pd.DataFrame(
        {"sample": ["a", "b", "c"], "age": [10, None, 70], "cg1": [0.1, 0.2, None], "cg2": [0.5, 0.6, 0.7]}
    )
    df.to_csv(tmp_path / "m.csv", index=False)
    data = read_methylation_table(tmp_path / "m.csv")
    assert list(data.betas.index) == ["a", "b", "c"] and list(data.betas.columns) == ["cg1", "cg2"]
    assert np.isnan(data.ages["b"]) and np.isnan(data.betas.loc["c", "cg1"])
    df.to_csv(tmp_path / "m.tsv.gz", index=False, sep="\t")
    assert load_methylation(tmp_path / "m.tsv.gz").betas.shape == (3, 2)
    df.assign(cg2=["0.5", "x", "0.7"]).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(MethylationFormatError) as e:
        read_methylation_table(tmp_path / "bad.csv")
    assert e.value.line == 3 and "cg2" in str(e.value)
    with pytest.raises(MethylationFormatError, match="age column"):
        read_methylation_table(tmp_path / "m.csv", age_column="years")
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        (tmp_path / "m.parquet").write_bytes(b"PAR1")
        with pytest.raises(ImportError, match="pip install pyarrow"):
            read_methylation_table(tmp_path / "m.parquet")


def test_horvath_transform_inverse_and_continuity() -> None:
    ages = np.array([0.0, 1.0, 10.0, 20.0, 20.0001, 50.0, 100.0])
    f = horvath_transform(ages)
    assert np.allclose(horvath_inverse(f), ages)
    assert f[3] == pytest.approx(0.0) and f[4] == pytest.approx(0.0, abs=1e-4)
    assert np.all(np.diff(f) > 0)


def test_simulator_reproducible_and_in_unit_interval() -> None:
    a = simulate_methylation(60, 120, 20, seed=3, n_batches=2, missing_rate=0.05)
    b = simulate_methylation(60, 120, 20, seed=3, n_batches=2, missing_rate=0.05)
    c = simulate_methylation(60, 120, 20, seed=4)
    pd.testing.assert_frame_equal(a.betas, b.betas)
    pd.testing.assert_series_equal(a.ages, b.ages)
    assert not np.allclose(np.nan_to_num(a.betas.to_numpy()), np.nan_to_num(c.betas.to_numpy()))
    v = a.betas.to_numpy()
    finite = v[~np.isnan(v)]
    assert finite.min() > 0 and finite.max() < 1
    assert 0.02 < np.isnan(v).mean() < 0.08
    assert a.ages.min() >= 0 and a.ages.max() <= 100
    assert len(a.info["age_cpgs"]) == 20


def test_simulator_monotone_age_signal_and_correlated_neighbours() -> None:
    d = simulate_methylation(800, 200, 40, seed=0, noise_sd=0.3)
    slopes = d.info["slopes"]
    ages = d.ages.to_numpy()
    m = np.log(d.betas.to_numpy() / (1 - d.betas.to_numpy()))
    up = m[:, slopes > 0].mean(1)
    down = m[:, slopes < 0].mean(1)
    bins = np.digitize(ages, [10, 20, 40, 60, 80])
    up_means = [up[bins == k].mean() for k in range(6)]
    down_means = [down[bins == k].mean() for k in range(6)]
    assert np.all(np.diff(up_means) > 0) and np.all(np.diff(down_means) < 0)
    r = [np.corrcoef(m[:, j], ages)[0, 1] for j in np.flatnonzero(slopes)]
    assert np.all(np.sign(r) == np.sign(slopes[slopes != 0]))
    null = np.flatnonzero(slopes == 0)
    neighbours = [j for j in null[:-1] if j + 1 in set(null)][:50]
    rho = np.mean([np.corrcoef(m[:, j], m[:, j + 1])[0, 1] for j in neighbours])
    assert rho > 0.3


def test_split_samples_disjoint_stratified() -> None:
    ages = np.random.default_rng(0).uniform(0, 100, 300)
    tr, va, te = split_samples(ages, 0.2, 0.2, seed=1)
    assert len(set(tr) & set(va)) == 0 and len(set(tr) & set(te)) == 0 and len(set(va) & set(te)) == 0
    assert len(tr) + len(va) + len(te) == 300
    assert abs(len(te) - 60) <= 5 and abs(len(va) - 60) <= 5
    for idx in (tr, va, te):
        assert ages[idx].min() < 20 and ages[idx].max() > 80
    assert all(np.array_equal(x, y) for x, y in zip((tr, va, te), split_samples(ages, 0.2, 0.2, seed=1)))


def test_preprocessor_fits_on_train_only() -> None:
    d = simulate_methylation(300, 400, 40, seed=0, missing_rate=0.02)
    tr, _va, te = split_samples(d.ages.to_numpy(), seed=0)
    betas = d.betas.copy()
    # poison the held-out samples: train-only fitting must not notice
    betas.iloc[te] = np.nan
    pre = MethylationPreprocessor(n_cpgs=30).fit(betas.iloc[tr], d.ages.iloc[tr])
    ref = MethylationPreprocessor(n_cpgs=30).fit(d.betas.iloc[tr], d.ages.iloc[tr])
    assert pre.selected_ == ref.selected_
    pd.testing.assert_series_equal(pre.fill_values_, ref.fill_values_)
    x_te = pre.transform(betas.iloc[te])
    assert x_te.shape == (len(te), 30) and x_te.dtype == np.float32
    assert np.allclose(x_te, pre.fill_values_.to_numpy()[None, :])  # all-missing rows get train medians
    assert len(set(pre.selected_) & set(d.info["age_cpgs"])) >= 25
    cols = list(d.betas.columns)
    assert [cols.index(c) for c in pre.selected_] == sorted(cols.index(c) for c in pre.selected_)  # genomic order
    by_corr = MethylationPreprocessor(n_cpgs=30, order="correlation").fit(d.betas.iloc[tr], d.ages.iloc[tr])
    assert np.all(np.diff(by_corr.correlations_.to_numpy()) <= 1e-12)


def test_preprocessor_drops_mostly_missing_cpgs() -> None:
    d = simulate_methylation(100, 50, 10, seed=0)
    betas = d.betas.copy()
    betas.iloc[:60, 0] = np.nan
    pre = MethylationPreprocessor(n_cpgs=None, max_missing_fraction=0.2).fit(betas, d.ages)
    assert betas.columns[0] in pre.dropped_missing_ and betas.columns[0] not in pre.selected_
    assert len(pre.selected_) == 49
