"""A plateau rule for loops that run "until the validation loss stops improving" (meta-learning's outer loop).

The loop stops once ``patience`` consecutive steps have failed to improve the best loss so far by more than
``min_delta`` (absolute), or after ``max_steps`` steps in any case.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Plateau:
    """Feed it one loss per step with :meth:`update`; it says when to stop.

    Attributes:
        patience: steps without improvement that end the loop (``None``: never on a plateau, only at ``max_steps``).
        min_delta: an improvement must lower the best loss by more than this.
        max_steps: the hard cap.
        best, best_step: the best loss seen and its (1-based) step.
        reason: ``"plateau"`` or ``"max_steps"`` once stopped, else ``None``.
    """

    patience: int | None = 10
    min_delta: float = 0.0
    max_steps: int = 1000
    best: float = math.inf
    best_step: int = 0
    steps: int = 0
    reason: str | None = field(default=None)

    def __post_init__(self) -> None:
        if self.patience is not None and self.patience < 1:
            raise ValueError(f"patience must be >= 1 or None, got {self.patience}")
        if self.min_delta < 0:
            raise ValueError(f"min_delta must be >= 0, got {self.min_delta}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")

    def update(self, loss: float) -> bool:
        """Record the next step's loss; True when the loop should stop after this step."""
        self.steps += 1
        if loss < self.best - self.min_delta:
            self.best, self.best_step = float(loss), self.steps
        if self.patience is not None and self.steps - self.best_step >= self.patience:
            self.reason = "plateau"
        elif self.steps >= self.max_steps:
            self.reason = "max_steps"
        return self.reason is not None
