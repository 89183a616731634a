"""The installed package works outside a checkout (issue 15, point 5): a wheel built from pyproject.toml carries
the bundled configs, and `coterie run colearn-mnist1d-ci` from an empty directory in a fresh virtual environment
finds them and writes a run directory.

The fresh environment is made with ``venv --without-pip``; the wheel goes in with this interpreter's pip
(``pip --python NEW install --no-deps``), and only afterwards a ``.pth`` line points at this environment's
site-packages so torch and the other dependencies are reused, not downloaded. The checkout's editable install is
not visible there (a path listed in a ``.pth`` file has its own ``.pth`` files ignored), which the test checks.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(COLUMNS="250", OMP_NUM_THREADS="1")
    return env


def _build_wheel(tmp: Path) -> Path:
    """Build from a copy of the sources, so the checkout gets no build/ or egg-info folders."""
    src = tmp / "src-copy"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    shutil.copytree(ROOT / "src", src / "src", ignore=ignore)
    dist = tmp / "dist"
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--disable-pip-version-check",
        "-q",
        "-w",
        str(dist),
        str(src),
    ]
    subprocess.run(cmd, check=True, env=_clean_env(), timeout=300)
    (wheel,) = dist.glob("coterie-*.whl")
    return wheel


def _fresh_env(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(py),
            "install",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "-q",
            str(wheel),
        ],
        check=True,
        env=_clean_env(),
        timeout=300,
    )
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # this environment's package folders (its own, and the system's under --system-site-packages), never the
    # checkout's src/ that its editable install adds to sys.path
    here = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    here += [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    Path(purelib, "_reuse_deps.pth").write_text("\n".join(dict.fromkeys(here)) + "\n")
    return venv


def test_wheel_ships_configs_and_runs_from_an_empty_directory(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    shipped = sorted(Path(n).name for n in zipfile.ZipFile(wheel).namelist() if n.startswith("coterie/configs/"))
    assert sorted(p.name for p in (ROOT / "src/coterie/configs").glob("*.yaml")) == shipped

    venv = _fresh_env(tmp_path, wheel)
    work = tmp_path / "empty"
    work.mkdir()
    env = _clean_env()
    where = subprocess.run(
        [str(venv / "bin/python"), "-c", "import coterie; print(coterie.__file__)"],
        cwd=work,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the checkout's editable one

    listing = subprocess.run(
        [str(venv / "bin/coterie"), "list"], cwd=work, env=env, capture_output=True, text=True, timeout=120
    )
    assert listing.returncode == 0, listing.stderr
    assert "colearn-mnist1d-ci" in listing.stdout and "(none found)" not in listing.stdout

    res = subprocess.run(
        [str(venv / "bin/coterie"), "run", "colearn-mnist1d-ci", "--out", "X"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-4000:]
    results = json.loads((work / "X" / "results.json").read_text())
    assert 0.0 <= results["test"]["ens_acc_mean"] <= 1.0
    assert sorted(p.name for p in work.iterdir()) == ["X"]  # nothing else written into the working directory
