"""coterie.utils.allocator: glibc thresholds are set where glibc exists, and the command's hook can be turned off."""

from __future__ import annotations

import platform

import pytest
import torch

from coterie.utils import allocator


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_keep_freed_memory_applies_on_glibc() -> None:
    assert allocator.keep_freed_memory() is True
    x = torch.randn(512, 1000)  # allocations still work and give the same numbers
    torch.testing.assert_close((x * 2).sum(), x.sum() * 2)


@pytest.mark.parametrize("value", ["0", "false", "No", "off"])
def test_the_environment_turns_the_command_hook_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    called = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: called.append(1) or True)
    monkeypatch.setenv("COTERIE_KEEP_FREED_MEMORY", value)
    assert allocator.keep_freed_memory_from_env() is False and not called
    monkeypatch.setenv("COTERIE_KEEP_FREED_MEMORY", "1")
    assert allocator.keep_freed_memory_from_env() is True and called
