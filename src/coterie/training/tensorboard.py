"""TensorBoard logging of the per-epoch training record (``log: {tensorboard: true}`` or ``coterie run --tensorboard``).

:class:`TensorBoardLogger` is a Trainer callback that writes each epoch's record, the same numbers as the
``metrics.jsonl`` line, as scalars through ``torch.utils.tensorboard.SummaryWriter`` with step = epoch:

- a number under its record key as the tag: ``val_ens_acc_mean``, ``train_kl_mean``, ``lr``, ``train_seconds``;
- a per-member list under ``KEY/member_i``: ``train_loss/member_0``, ``val_member_acc/member_2``, ...
  (TensorBoard groups the members of one key into one section);
- nested mappings under ``KEY/SUBKEY``; anything else (text, booleans) is left out.

The ``tensorboard`` package is optional (the ``tensorboard`` extra); ``coterie run`` refuses a request for it
without the package before any work (:mod:`coterie.experiments.extras`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import Tensor

from coterie.training.callbacks import Callback

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from coterie.training.trainer import Trainer


def record_scalars(record: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """``(tag, value)`` for every number in an epoch record (see the module docstring for the naming)."""
    for key, value in record.items():
        tag = f"{prefix}{key}"
        if key == "epoch" and not prefix:
            continue
        if isinstance(value, (bool, str)):
            continue
        if isinstance(value, (int, float)):
            yield tag, float(value)
        elif isinstance(value, (list, tuple)) and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value
        ):
            for i, v in enumerate(value):
                yield f"{tag}/member_{i}", float(v)
        elif isinstance(value, Mapping):
            yield from record_scalars(value, prefix=f"{tag}/")


class TensorBoardLogger(Callback):
    """Writes every epoch's record to ``log_dir`` (``RUN_DIR/tensorboard``) as TensorBoard scalars.

    The writer opens at the first epoch it sees with ``purge_step`` = that epoch, so a resumed run replaces any
    events an interrupted process wrote after its last checkpoint rather than duplicating them. Non-finite values
    are written as they are (TensorBoard shows NaN/inf).
    """

    def __init__(self, log_dir: Path | str) -> None:
        self.log_dir = Path(log_dir)
        self._writer: SummaryWriter | None = None

    def on_epoch_end(self, trainer: Trainer, epoch: int, record: dict[str, Any], val_logits: Tensor | None) -> None:
        sharding = getattr(trainer.ensemble, "sharding", None)
        if sharding is not None and sharding.rank != 0:  # member-parallel training: rank 0 writes, as for metrics
            return
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._writer = SummaryWriter(log_dir=str(self.log_dir), purge_step=epoch if epoch > 0 else None)
        for tag, value in record_scalars(record):
            self._writer.add_scalar(tag, value, global_step=epoch)
        self._writer.flush()

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
