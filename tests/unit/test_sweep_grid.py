"""Sweep grids: the Cartesian product of the grid's values, each point a validated config; a grid naming an unknown
field (or an invalid value anywhere in the grid) fails before anything is written, naming the field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from coterie.config import validate_config
from coterie.sweep import SweepError, load_sweep, parse_sweep, run_sweep

ROOT = Path(__file__).resolve().parents[2]
CI_SWEEP = ROOT / "configs" / "colearn-sweep-ci.yaml"

BASE: dict[str, Any] = {
    "experiment": "colearn",
    "data": {"name": "mnist1d", "num_samples": 200, "val_fraction": 0.2, "test_fraction": 0.2},
    "model": {"name": "mlp", "kwargs": {"hidden": [8]}},
    "ensemble": {"size": 2},
    "objective": {"name": "colearning", "params": {"beta": 0.0, "normalize": True}},
    "optimizer": {"name": "sgd", "lr": 0.05},
    "epochs": 1,
    "batch_size": 32,
}

# Fields a grid may vary, with a strategy for valid values of each (quarters keep floats exact and distinct).
QUARTERS = st.integers(-8, 8).map(lambda i: i / 4)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "seed": st.integers(0, 10_000),
    "epochs": st.integers(1, 50),
    "batch_size": st.integers(1, 512),
    "ensemble.size": st.integers(1, 12),
    "objective.params.beta": QUARTERS,
    "optimizer.lr": st.integers(1, 100).map(lambda i: i / 100),
    "data.split_seed": st.integers(0, 99),
}


BASE_CFG = validate_config(BASE).model_dump(mode="json")


def lookup(config: dict[str, Any], dotted: str) -> Any:
    cur: Any = config
    for k in dotted.split("."):
        cur = cur[k]
    return cur


def points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product written out by recursion (last key varies fastest), independent of itertools."""
    keys = list(grid)
    if not keys:
        return [{}]
    first, rest = keys[0], {k: grid[k] for k in keys[1:]}
    return [{first: v, **p} for v in grid[first] for p in points(rest)]


def spec_of(grid: dict[str, list[Any]], base: dict[str, Any] | None = None) -> Any:
    return parse_sweep({**copy.deepcopy(base or BASE), "sweep": {"name": "t", "grid": grid}})


@st.composite
def grids(draw: st.DrawFn) -> dict[str, list[Any]]:
    keys = draw(st.lists(st.sampled_from(sorted(FIELDS)), min_size=0, max_size=4, unique=True))
    return {k: draw(st.lists(FIELDS[k], min_size=1, max_size=3, unique=True)) for k in keys}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(grid=grids())
def test_expansion_is_the_cartesian_product(grid: dict[str, list[Any]]) -> None:
    runs = spec_of(grid).expand()
    expected = points(grid)
    size = 1
    for values in grid.values():
        size *= len(values)
    assert len(runs) == size == len(expected)
    # the same points, in product order, each applied to the validated config; everything else is the base
    assert [r.overrides for r in runs] == expected
    for r in runs:
        cfg = r.config_dict
        for k, v in r.overrides.items():
            assert lookup(cfg, k) == v
        for k in set(FIELDS) - set(r.overrides):
            assert lookup(cfg, k) == lookup(BASE_CFG, k)
    # every point has its own identity and directory name
    assert len({r.run_id for r in runs}) == len(runs)
    assert len({r.name for r in runs}) == len(runs)


@settings(max_examples=20, deadline=None)
@given(grid=grids(), data=st.data())
def test_run_identity_does_not_depend_on_grid_order(grid: dict[str, list[Any]], data: st.DataObject) -> None:
    keys = data.draw(st.permutations(list(grid)))
    shuffled = {k: data.draw(st.permutations(grid[k])) for k in keys}
    a = {r.run_id: r.overrides for r in spec_of(grid).expand()}
    b = {r.run_id: r.overrides for r in spec_of(shuffled).expand()}
    assert a == b


def test_repeated_values_give_one_run() -> None:
    runs = spec_of({"seed": [3, 3, 4], "ensemble.size": [2, 2]}).expand()
    assert sorted(r.overrides["seed"] for r in runs) == [3, 4]


def test_empty_grid_is_the_base_run() -> None:
    (run,) = spec_of({}).expand()
    assert run.overrides == {}
    assert run.config_dict["epochs"] == BASE["epochs"]


def test_bundled_ci_sweep_expands_to_its_grid() -> None:
    raw = yaml.safe_load(CI_SWEEP.read_text())
    grid = raw["sweep"]["grid"]
    runs = load_sweep(CI_SWEEP).expand()
    assert [r.overrides for r in runs] == points(grid)
    assert len(runs) == 3 * 2 * 2


# ---------------------------------------------------------------------------------------------- unknown fields
NAMES = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True).map(lambda n: n + "_zz")  # never a real field
SECTIONS = ["", "data.", "optimizer.", "schedule.", "ensemble.", "analysis.", "objective.params.", "model.kwargs."]


@settings(max_examples=40, deadline=None)
@given(section=st.sampled_from(SECTIONS), name=NAMES, values=st.lists(st.integers(0, 3), min_size=1, max_size=3))
def test_unknown_grid_field_is_named(section: str, name: str, values: list[int]) -> None:
    key = section + name
    spec = spec_of({"seed": [0, 1], key: values})
    with pytest.raises(SweepError) as err:
        spec.expand()
    assert repr(key) in str(err.value) and "unknown" in str(err.value)


@pytest.mark.parametrize(
    ("grid", "field"),
    [
        ({"epoch": [1, 2]}, "epoch"),
        ({"seed": [0], "optimizer.learning_rate": [0.1]}, "optimizer.learning_rate"),
        ({"objective.params.betaa": [0.5]}, "objective.params.betaa"),
        ({"epochs": [2, 3, -1]}, "epochs"),  # the bad value is not the first one
        ({"ensemble.size": [2, 0]}, "ensemble.size"),
        ({"seed": 3}, "seed"),  # not a list
        ({"seed": []}, "seed"),
    ],
)
def test_invalid_grid_fails_before_anything_is_written(tmp_path: Path, grid: dict[str, Any], field: str) -> None:
    out = tmp_path / "sweep"
    with pytest.raises(SweepError, match=field.replace(".", r"\.")):
        run_sweep(spec_of(grid), out)
    assert not out.exists()


def test_sweep_section_is_checked() -> None:
    with pytest.raises(SweepError, match="gird"):
        parse_sweep({**BASE, "sweep": {"gird": {"seed": [0]}}})
    with pytest.raises(SweepError, match=r"sweep\.grid"):
        parse_sweep({**BASE, "sweep": {"grid": [1, 2]}})
    with pytest.raises(SweepError, match="does not exist"):
        load_sweep(Path("/nonexistent/sweep.yaml"))
