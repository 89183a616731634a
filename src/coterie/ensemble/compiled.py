"""Optional ``torch.compile`` of an executor, with a clean fallback to eager execution when compiling fails.

Compilation happens lazily on the first call. Any exception raised while compiling or running the compiled function
for the first time is logged once as a warning and the executor then runs eagerly for the rest of the process; a
compiled function that already worked is never silently replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn

log = logging.getLogger(__name__)

ForwardFn = Callable[[Sequence[nn.Module], Tensor], Tensor]


class CompiledForward:
    """Wraps ``fn(members, x) -> (N, B, C)`` with ``torch.compile``; falls back to ``fn`` if compilation fails.

    Attributes:
        failed: the compile error message once compilation has failed (``None`` otherwise).
    """

    def __init__(self, fn: ForwardFn, mode: str | None = None) -> None:
        self.fn = fn
        self.mode = mode
        self.failed: str | None = None
        self._compiled: Callable[..., Tensor] | None = None
        self._worked = False

    def __call__(self, members: Sequence[nn.Module], x: Tensor) -> Tensor:
        if self.failed is not None:
            return self.fn(members, x)
        try:
            if self._compiled is None:
                self._compiled = torch.compile(self.fn, mode=self.mode, dynamic=False)
            out = self._compiled(members, x)
            self._worked = True
            return out
        except Exception as e:  # any backend failure means: run eagerly
            if self._worked:
                raise
            self.failed = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
            log.warning("torch.compile failed (%s); running the executor eagerly", self.failed)
            return self.fn(members, x)
