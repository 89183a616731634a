"""Shared fixtures. The MNIST-1D cache goes to a per-session temp folder unless COTERIE_CACHE is set."""

from __future__ import annotations

import os

import pytest
import torch

# CI machines have 2 shared cores: intra-op threads only add contention for the small tensors the tests use.
torch.set_num_threads(1)


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ.setdefault("COTERIE_CACHE", str(tmp_path_factory.mktemp("coterie-cache")))


@pytest.fixture(autouse=True)
def _one_thread():
    """Every test starts on one intra-op thread (tiny tensors: a second thread only adds contention on a shared
    2-core machine), whatever an earlier test set; the count is restored afterwards."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)
