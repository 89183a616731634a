"""Keep freed CPU memory in the process instead of returning it to the operating system (glibc only).

PyTorch's CPU allocator is the C library's ``malloc``. glibc serves blocks above its mmap threshold with fresh
``mmap`` pages and gives them back on ``free``, and trims the heap top above its trim threshold; a training step
that allocates the same few-MB activation and gradient buffers every step then pays a page fault per 4 KiB on each
of them, every step. Measured here (benchmarks/executors.py, 10 MLP members, batch 512, 2 threads): the fused
co-learning step spent ~15 % of its time in those faults (kernel time), and elementwise kernels on fresh 2 MB
buffers ran 5–10× slower than on reused ones.

:func:`keep_freed_memory` raises both thresholds with ``mallopt`` so freed blocks are reused. The price is that the
process keeps its peak heap (it is not returned to the OS until exit) — the usual trade of caching allocators
(jemalloc, tcmalloc, and PyTorch's own CUDA allocator). It is process-wide, so the library never calls it on
import; the ``coterie`` command calls it at start-up (an application's decision), and scripts may call it
themselves. ``COTERIE_KEEP_FREED_MEMORY=0`` turns it off for the command. On non-glibc systems it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# Blocks above the mmap threshold still come from (and go back to) mmap; 32 MiB covers every activation of the
# benchmarked members and is glibc's own upper bound for its dynamic threshold.
MMAP_THRESHOLD = 32 * 1024 * 1024
TRIM_THRESHOLD = 1024 * 1024 * 1024


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Raise glibc's mmap and trim thresholds (see the module docstring).

    Args:
        mmap_threshold: blocks up to this many bytes come from the reusable heap.
        trim_threshold: free memory at the heap top kept before it is returned to the OS.

    Returns:
        True when both settings were applied (glibc), False otherwise (nothing changed).
    """
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, int(mmap_threshold))) and bool(mallopt(_M_TRIM_THRESHOLD, int(trim_threshold)))
    if ok:
        log.debug("malloc: mmap threshold %d B, trim threshold %d B", mmap_threshold, trim_threshold)
    return ok


def keep_freed_memory_from_env() -> bool:
    """:func:`keep_freed_memory` unless ``COTERIE_KEEP_FREED_MEMORY`` is ``0``/``false``/``no`` (the command's
    start-up hook)."""
    if os.environ.get("COTERIE_KEEP_FREED_MEMORY", "1").strip().lower() in ("0", "false", "no", "off"):
        return False
    return keep_freed_memory()
