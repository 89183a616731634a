"""Learning-curve figure: validation accuracy of each member and of the ensemble per epoch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from matplotlib.figure import Figure

from coterie.utils.figures import subplots


def learning_curves(history: Sequence[dict[str, Any]], title: str = "") -> Figure:
    """Two panels from Trainer records: validation accuracy (members thin, ensemble thick) and training loss."""
    fig, (ax_acc, ax_loss) = subplots(1, 2, figsize=(10, 3.8))
    epochs = [r["epoch"] + 1 for r in history]
    if history and "val_member_acc" in history[0]:
        n = len(history[0]["val_member_acc"])
        for i in range(n):
            ax_acc.plot(epochs, [r["val_member_acc"][i] for r in history], lw=1, alpha=0.7, label=f"member {i}")
        ax_acc.plot(epochs, [r["val_ens_acc_mean"] for r in history], lw=2.5, color="black", label="ensemble (mean)")
        ax_acc.set_ylabel("validation accuracy")
        ax_acc.legend(fontsize=7, ncol=2)
    ax_acc.set_xlabel("epoch")
    if history:
        n = len(history[0]["train_loss"])
        for i in range(n):
            ax_loss.plot(epochs, [r["train_loss"][i] for r in history], lw=1, label=f"member {i}")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("training loss L_i")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
