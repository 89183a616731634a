"""coterie.experiments.codeepnet.data: the recipe's cohort (v1 / v2 simulator, real file with a GPL annotation) and
the published clocks as baselines on real Illumina IDs, end to end through `coterie run`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from coterie.cli import app
from coterie.config import ConfigError, load_config
from coterie.experiments.codeepnet.data import load_cohort

ROOT = Path(__file__).resolve().parents[2]


def test_simulator_version_2_and_its_validation() -> None:
    cfg = load_config(
        {
            "experiment": "codeepnet",
            "seed": 3,
            "data": {
                "simulate": {
                    "version": 2,
                    "n_samples": 60,
                    "n_cpgs": 120,
                    "n_age_cpgs": 20,
                    "params": {"noise_sd": 0.4},
                }
            },
        }
    )
    data, dropped = load_cohort(cfg)  # type: ignore[arg-type]
    assert data.info["source"] == "simulated-v2" and data.info["params"]["noise_sd"] == 0.4 and not dropped
    assert data.loci is not None and data.betas.shape == (60, 120) and len(data.info["age_cpgs"]) == 20
    v1, _ = load_cohort(
        load_config(
            {
                "experiment": "codeepnet",
                "data": {
                    "simulate": {  # type: ignore[arg-type]
                        "n_samples": 40,
                        "n_cpgs": 50,
                        "n_age_cpgs": 10,
                    }
                },
            }
        )
    )
    assert v1.info["source"] == "simulated" and v1.loci is None
    with pytest.raises(ConfigError, match="v1-only"):
        load_config({"experiment": "codeepnet", "data": {"simulate": {"version": 2, "cluster_size": 3}}})
    with pytest.raises(ConfigError, match=r"unknown simulate\.params"):
        load_config({"experiment": "codeepnet", "data": {"simulate": {"version": 2, "params": {"noize": 1}}}})
    with pytest.raises(ConfigError, match="for version 2"):
        load_config({"experiment": "codeepnet", "data": {"simulate": {"params": {"noise_sd": 1}}}})


def _clock_cohort(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    """A series matrix holding every Horvath and Hannum CpG (biolearn's averages + noise) and its annotation."""
    from coterie.cooperative import clocks

    avg = pd.read_csv(clocks.biolearn_data_dir() / "biolearn_averages_450k.csv", index_col=0)["average"]
    cpgs = sorted(
        set().union(
            *(clocks.load_coefficients(clocks.biolearn_data_dir() / s.file)[0].index for s in clocks.CLOCKS.values())
        )
    )
    rng = np.random.default_rng(0)
    n = 60
    x = np.clip(avg.loc[cpgs].to_numpy()[:, None] + rng.normal(0, 0.05, (len(cpgs), n)), 0.001, 0.999)
    ids = [f"GSM{i}" for i in range(n)]
    lines = [
        '!Series_platform_id\t"GPL13534"',
        "!Sample_geo_accession\t" + "\t".join(f'"{s}"' for s in ids),
        "!Sample_characteristics_ch1\t" + "\t".join(f'"age: {a:.1f}"' for a in rng.uniform(20, 80, n)),
        "!series_matrix_table_begin",
        '"ID_REF"\t' + "\t".join(f'"{s}"' for s in ids),
    ]
    lines += [f'"{c}"\t' + "\t".join(f"{v:.4f}" for v in row) for c, row in zip(cpgs, x)]
    lines.append("!series_matrix_table_end")
    geo = tmp_path / "GSE1_series_matrix.txt"
    geo.write_text("\n".join(lines) + "\n")
    chrom = rng.choice([str(c) for c in range(1, 23)], len(cpgs))
    pos = rng.integers(1, 10**8, len(cpgs))
    ann = tmp_path / "GPL13534.txt"
    ann.write_text("ID\tCHR\tMAPINFO\n" + "\n".join(f"{c}\t{h}\t{p}" for c, h, p in zip(cpgs, chrom, pos)) + "\n")
    order = pd.DataFrame({"c": cpgs, "k": chrom.astype(int), "p": pos}).sort_values(["k", "p"])["c"].tolist()
    return geo, ann, order


def test_real_file_genomic_order_and_published_clocks_end_to_end(tmp_path: Path) -> None:
    pytest.importorskip("biolearn")
    geo, ann, order = _clock_cohort(tmp_path)
    cfg = yaml.safe_load((ROOT / "configs/codeepnet-age-ci.yaml").read_text())
    cfg["search"]["enabled"] = False
    cfg["train"]["epochs"] = 2
    cfg["data"].update(annotation_file=str(ann), n_selected=30)
    cfg["baselines"].update(sklearn=["elastic_net"], single_cnn=False)
    data, _ = load_cohort(load_config({**cfg, "data_file": str(geo)}))  # type: ignore[arg-type]
    assert list(data.betas.columns) == order and data.info["order"] == "genomic"
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["run", str(path), "--out", str(out), "--data-file", str(geo), "--device", "cpu"])
    assert res.exit_code == 0, res.output
    r = json.loads((out / "results.json").read_text())
    for clock, n_cpgs in (("horvath2013", 353), ("hannum2013", 71)):
        assert r["models"][clock]["n_parameters"] == n_cpgs + 1 and r["models"][clock]["published"] is True
        assert np.isfinite(r["mae"][clock]) and f"pair_beats_{clock}_mae" in r["claims"]
