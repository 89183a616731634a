"""``coterie report DIR`` on a tiny co-learning sweep (2 β̄ × 2 N, 2 epochs, built once per module) and on one of its
runs: report.html is self-contained (no external resource; every image an embedded, decodable PNG), summary.csv has
one row per finished run, and headless Chromium, when installed, loads every figure."""

from __future__ import annotations

import base64
import csv
import io
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from coterie.cli import app
from coterie.report.sweep_report import representative_betas, weighted_layer_names
from coterie.sweep import ResultStore, flatten_metrics, parse_sweep, run_sweep

BETA_BARS, SIZES = [-1.0, 0.0], [2, 3]

SWEEP: dict[str, Any] = {
    "sweep": {"name": "report-tiny", "grid": {"objective.params.beta": BETA_BARS, "ensemble.size": SIZES}},
    "experiment": "colearn",
    "name": "report-tiny",
    "seed": 0,
    "data": {"name": "mnist1d", "num_samples": 300, "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"name": "mlp", "kwargs": {"hidden": [16, 16]}},
    "ensemble": {"size": 2},
    "objective": {"name": "colearning", "params": {"beta": 0.0, "normalize": True}},
    "optimizer": {"name": "sgd", "lr": 0.05, "momentum": 0.9},
    "epochs": 2,
    "batch_size": 64,
    "analysis": {"trajectory_every": 1, "trajectory_samples": 32, "activity_samples": 32},
}


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report") / "sweep"
    outcome = run_sweep(parse_sweep(SWEEP), out, workers=1)
    assert not outcome.failed and outcome.total == len(BETA_BARS) * len(SIZES)
    res = CliRunner().invoke(app, ["report", str(out)])
    assert res.exit_code == 0, res.output
    return out


@pytest.fixture(scope="module")
def run_dir(sweep: Path) -> Path:
    d = sorted((sweep / "runs").iterdir())[0]
    res = CliRunner().invoke(app, ["report", str(d)])
    assert res.exit_code == 0, res.output
    return d


class Resources(HTMLParser):
    """Every tag with its attributes, and the text of <style> and <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in = tag if tag in ("style", "script") else None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.inline.append(data)


def parse(path: Path) -> Resources:
    p = Resources()
    p.feed(path.read_text())
    return p


EXTERNAL = re.compile(r"^\s*(https?:|//|file:|ftp:)", re.IGNORECASE)


def assert_self_contained(html_path: Path) -> int:
    """Check the page needs nothing outside itself; returns the number of figures."""
    page = parse(html_path)
    n_img = 0
    for tag, attrs in page.tags:
        assert tag not in ("link", "iframe", "embed", "object"), tag
        for key in ("src", "href", "srcset", "data", "poster", "xlink:href", "background"):
            if key in attrs:
                assert not EXTERNAL.match(attrs[key]), (tag, key, attrs[key][:80])
        if tag == "script":
            assert "src" not in attrs  # inline only
        if tag == "img":
            n_img += 1
            src = attrs["src"]
            assert src.startswith("data:image/png;base64,"), src[:60]
            img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1], validate=True)))
            img.load()  # decodes completely
            assert img.width > 0 and img.height > 0
    for text in page.inline:  # no CSS url(...) or JS fetch of anything but data:
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", text):
            assert url.startswith("data:"), url
        assert not re.search(r"https?://", text)
    body = next(attrs for tag, attrs in page.tags if tag == "body")
    assert int(body["data-figures-expected"]) == n_img
    return n_img


def test_sweep_report_is_self_contained(sweep: Path) -> None:
    n = assert_self_contained(sweep / "report.html")
    assert n >= 15  # Figs 2a, 2b, 2c per N, 3a–d, 4a, 4b per run, 5a–c, S3, S5, 6a, 6b bars, 6c
    assert len(list((sweep / "figures").glob("*.png"))) >= n - 2  # also saved as files (a few share a name)


def test_sweep_report_has_the_papers_figures_and_no_failed_one(sweep: Path) -> None:
    text = (sweep / "report.html").read_text()
    for fig in (
        "Fig 2a",
        "Fig 2b",
        "Fig 2c",
        "Fig 3a",
        "Fig 3b",
        "Fig 3c",
        "Fig 3d",
        "Fig 4a",
        "Fig 4b",
        "Fig 5a",
        "Fig 5b",
        "Fig 5c",
        "Fig S3",
        "Fig S5",
        "Fig 6a",
        "Fig 6c",
    ):
        assert fig in text, fig
    assert "unavailable" not in text  # no figure raised
    assert "Wilcoxon" in text and "log-log" in text.lower()
    assert "weight histogram of fc2" in text  # the second weighted layer (Fig 6c: the second conv layer)
    assert "colearn" in text  # the sweep configuration is embedded


def test_summary_csv_has_one_row_per_finished_run(sweep: Path) -> None:
    with open(sweep / "summary.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    store = ResultStore(sweep / "results.sqlite")
    finished = {r["name"]: r for r in store.finished()}
    assert len(rows) == len(finished) == len(BETA_BARS) * len(SIZES)
    assert {r["name"] for r in rows} == set(finished)
    assert {(float(r["beta_bar"]), int(r["N"])) for r in rows} == {(b, n) for b in BETA_BARS for n in SIZES}
    for r in rows:
        results = json.loads((sweep / r["run_dir"] / "results.json").read_text())
        assert float(r["test.ens_acc_mean"]) == pytest.approx(results["test"]["ens_acc_mean"])
        assert float(r["beta"]) == pytest.approx(float(r["beta_bar"]) / int(r["N"]))
        assert r["diverged"] == "False"
    df = pd.read_csv(sweep / "summary.csv")
    assert list(zip(df["N"], df["beta_bar"])) == sorted(zip(df["N"], df["beta_bar"]))


def test_run_report(run_dir: Path) -> None:
    n = assert_self_contained(run_dir / "report.html")
    assert n >= 7  # learning curves + JS matrix, MDS, trajectory, entropy, voters, sparsity
    text = (run_dir / "report.html").read_text()
    assert "unavailable" not in text
    summary = pd.read_csv(run_dir / "summary.csv")
    flat = flatten_metrics(json.loads((run_dir / "results.json").read_text()))
    assert list(summary["metric"]) == list(flat)
    np.testing.assert_allclose(summary["value"].to_numpy(dtype=float), np.array(list(flat.values()), dtype=float))


def test_report_of_a_directory_without_results_fails_cleanly(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 2
    assert "results" in res.output
    assert not (tmp_path / "report.html").exists()
    res = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert res.exit_code == 2


def test_report_of_a_foreign_database_fails_and_leaves_it(tmp_path: Path) -> None:
    (tmp_path / "results.sqlite").write_bytes(b"garbage")
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    # bad input, as `coterie sweep` says it: one line naming the file, exit 2, no traceback
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    lines = res.output.strip().splitlines()
    assert len(lines) == 1 and str(tmp_path / "results.sqlite") in lines[0]
    assert "is not an SQLite database" in lines[0] and "Traceback" not in res.output
    assert (tmp_path / "results.sqlite").read_bytes() == b"garbage"
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "summary.csv").exists()


def test_sweep_without_scalar_coupling_gets_a_run_table(tmp_path: Path) -> None:
    # an objective without β (here ADP): no beta_bar column; the report lists the runs instead of failing
    store = ResultStore.open(tmp_path / "results.sqlite", "sid", "plain", {"experiment": "train"})
    for i in range(3):
        cfg = {
            "experiment": "train",
            "seed": i,
            "ensemble": {"size": 2},
            "objective": {"name": "adp", "params": {"alpha": 2.0}},
        }
        store.record_finished(
            f"r{i}", f"r{i}", {"seed": i}, cfg, f"runs/r{i}", {"test": {"ens_acc_mean": 0.5 + i / 10}}
        )
    res = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["name"].tolist() == ["r0", "r1", "r2"]
    assert "finished runs" in (tmp_path / "report.html").read_text()
    assert_self_contained(tmp_path / "report.html")


def test_representative_betas() -> None:
    df = pd.DataFrame({"N": [2] * 6, "beta_bar": [-2.0, -1.0, -0.5, 0.0, 0.5, 1.5]})
    opt = pd.DataFrame({"N": [2], "beta_bar_opt": [-1.0]})
    assert representative_betas(df, 2, opt) == [-1.0, 0.0, 1.5]  # +1.5: the first positive at least as strong
    opt_pos = pd.DataFrame({"N": [2], "beta_bar_opt": [0.5]})
    assert representative_betas(df, 2, opt_pos) == [-0.5, 0.0, 0.5]  # the weakest negative when β̄* ≥ 0
    only_neg = pd.DataFrame({"N": [3, 3], "beta_bar": [-1.0, 0.0]})
    assert representative_betas(only_neg, 3, pd.DataFrame({"N": [3], "beta_bar_opt": [-1.0]})) == [-1.0, 0.0]


def test_weighted_layer_names_skip_batchnorm_and_keep_dotted_names() -> None:
    w = {
        "members.0.conv1.weight": torch.zeros(4, 3, 3, 3),
        "members.0.bn1.weight": torch.zeros(4),
        "members.0.layer1.0.conv2.weight": torch.zeros(4, 4, 3, 3),
        "members.0.fc.weight": torch.zeros(10, 4),
        "members.1.conv1.weight": torch.zeros(4, 3, 3, 3),
    }
    assert weighted_layer_names(w) == ["conv1", "layer1.0.conv2", "fc"]


def chromium_figures(html_path: Path, tmp: Path) -> tuple[str, str]:
    """Render a copy of the page with an extra check of our own; returns (page's own count, our count)."""
    probe = (
        "<script>window.addEventListener('load',function(){var im=document.images,ok=0;"
        "for(var i=0;i<im.length;i++){if(im[i].complete&&im[i].naturalWidth>0)ok++;}"
        "document.body.setAttribute('data-test-loaded',ok+'/'+im.length);});</script>"
    )
    page = tmp / "page.html"
    page.write_text(html_path.read_text().replace("</body>", probe + "</body>"))
    chromium = shutil.which("chromium")
    assert chromium is not None
    cmd = [
        chromium,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        f"--user-data-dir={tmp / 'profile'}",
        "--virtual-time-budget=15000",
        "--dump-dom",
        page.as_uri(),
    ]
    dom = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    body = re.search(r"<body[^>]*>", dom)
    assert body is not None, dom[:500]
    own = re.search(r'data-figures-loaded="([^"]*)"', body.group(0))
    ours = re.search(r'data-test-loaded="([^"]*)"', body.group(0))
    assert own is not None and ours is not None, body.group(0)
    return own.group(1), ours.group(1)


@pytest.mark.parametrize("which", ["sweep", "run"])
def test_headless_chromium_loads_every_figure(which: str, sweep: Path, run_dir: Path, tmp_path: Path) -> None:
    if shutil.which("chromium") is None:
        # CI (.ci/run) installs chromium and sets COTERIE_REQUIRE_CHROMIUM=1: there a missing browser is a failure
        assert os.environ.get("COTERIE_REQUIRE_CHROMIUM") != "1", "chromium is required here but not installed"
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    html_path = (sweep if which == "sweep" else run_dir) / "report.html"
    expected = assert_self_contained(html_path)
    own, ours = chromium_figures(html_path, tmp_path)
    assert ours == f"{expected}/{expected}"
    assert own == f"{expected}/{expected}"
