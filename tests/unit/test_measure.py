"""coterie.utils.measure: the time and memory of a block."""

from __future__ import annotations

import sys
import time

import pytest
import torch

from coterie.utils.measure import measure


def test_time_and_python_allocations_are_seen() -> None:
    with measure() as m:
        junk = [object() for _ in range(100_000)]  # Python heap: ≥ 100k objects of ≥ 16 bytes
        time.sleep(0.05)
    del junk
    assert m["seconds"] >= 0.05
    assert m["python_peak_bytes"] >= 1_600_000


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RSS sampling reads /proc")
def test_tensor_allocations_show_in_the_rss_peak_not_in_tracemalloc() -> None:
    with measure(interval=0.001) as m:
        x = torch.ones(64 * 2**20 // 4)  # 64 MiB written (so resident)
        time.sleep(0.02)
        del x
    assert m["rss_peak_delta_bytes"] >= 48 * 2**20
    assert m["python_peak_bytes"] < 8 * 2**20  # torch's allocator is not the Python heap
