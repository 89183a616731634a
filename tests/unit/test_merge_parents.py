"""Which training samples each parent of ``experiment: merge`` sees (parents.data: same | disjoint | overlapping)."""

from __future__ import annotations

import pytest

from coterie.experiments.merge_parents import ParentsConfig, parent_indices


def _sets(n: int, members: int, data: str, fraction: float | None = None, seed: int = 0) -> list[set[int]]:
    idx = parent_indices(n, members, data, fraction, seed)  # type: ignore[arg-type]
    assert idx is not None
    return [set(i.tolist()) for i in idx]


def test_same_means_everything() -> None:
    assert parent_indices(100, 8, "same", None, 0) is None


@pytest.mark.parametrize(("n", "members"), [(100, 2), (803, 8)])
def test_disjoint_parts_partition_the_training_split(n: int, members: int) -> None:
    parts = _sets(n, members, "disjoint")
    assert set().union(*parts) == set(range(n))
    assert sum(len(p) for p in parts) == n  # no sample twice
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    for i in range(members):
        for j in range(i + 1, members):
            assert not parts[i] & parts[j]


def test_overlapping_windows_share_exactly_the_stated_fraction() -> None:
    n, members, f = 800, 8, 0.25  # 200 samples each; neighbours share (0.25 − 1/8)·800 = 100
    parts = _sets(n, members, "overlapping", f)
    assert all(len(p) == 200 for p in parts)
    for i in range(members):
        assert len(parts[i] & parts[(i + 1) % members]) == 100
        assert not parts[i] & parts[(i + 2) % members]  # further apart than f·N = 2 parents: nothing shared
    coverage = [sum(k in p for p in parts) for k in range(n)]
    assert set(coverage) == {2}  # every sample seen by f·N parents


def test_partition_is_seeded() -> None:
    assert _sets(100, 2, "disjoint", seed=1) == _sets(100, 2, "disjoint", seed=1)
    assert _sets(100, 2, "disjoint", seed=1) != _sets(100, 2, "disjoint", seed=2)


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="fraction is required"):
        ParentsConfig(data="overlapping")
    with pytest.raises(ValueError, match="only used with"):
        ParentsConfig(data="disjoint", fraction=0.5)
    with pytest.raises(ValueError, match="fewer than"):
        parent_indices(800, 8, "overlapping", 0.1, 0)
    assert ParentsConfig().data_order == "per_member"
