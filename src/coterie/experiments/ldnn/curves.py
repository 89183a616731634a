"""Per-epoch validation curves of the ``ldnn`` arms (the study's plateau rule reads them).

:class:`ValMetricCurve` is a Trainer callback: after every epoch it evaluates each member (one network per evaluation
seed) on the task's validation split with :meth:`LdnnTask.evaluate` (accuracy for MNIST-1D, MSE for the physics
tasks) and adds ``val_<metric>`` — a list over members — to the epoch's record. The record goes to the arm's
``metrics.jsonl`` and to the Trainer's history, which checkpoints carry, so a resumed arm still has the whole curve
(:func:`curves_from_history`). Nothing is selected on these values: the arms keep their final weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor

from coterie.experiments.ldnn.task import LdnnTask
from coterie.training.callbacks import Callback


class ValMetricCurve(Callback):
    """After each epoch, ``record["val_<metric>"]`` = [validation metric of member s for s in members].

    Evaluation is the task's own (:meth:`LdnnTask.evaluate`, eval mode); every member is put back in the mode it was
    in. It draws no random numbers and changes no weights, so training is the same with or without it.
    """

    def __init__(self, task: LdnnTask) -> None:
        self.task = task
        self.key = f"val_{task.metric_name}"

    def on_epoch_end(self, trainer: Any, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        values = []
        for member in trainer.ensemble.members:
            was_training = member.training
            values.append(self.task.evaluate(member, self.task.val))
            member.train(was_training)
        record[self.key] = values


def curves_from_history(history: Sequence[dict[str, Any]], metric_name: str) -> list[list[float]]:
    """Per-member curves ``[s][e]`` (members × epochs) from the Trainer's per-epoch records of a
    :class:`ValMetricCurve`-instrumented fit; empty when no record carries ``val_<metric_name>``."""
    key = f"val_{metric_name}"
    rows = [rec[key] for rec in history if key in rec]
    if not rows:
        return []
    return [[float(row[s]) for row in rows] for s in range(len(rows[0]))]
