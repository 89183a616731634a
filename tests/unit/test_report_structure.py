"""Fig 6a (report.structure.sparsity_during_training): a run without activity records is named on the figure, not
dropped silently."""

from __future__ import annotations

from pathlib import Path

from coterie.report.rundata import RunData
from coterie.report.structure import sparsity_during_training


def _run(name: str, history: list[dict]) -> RunData:
    return RunData(Path("sweep") / name, {}, {"beta_bar": 0.0}, history)


def test_a_run_without_activity_is_named_in_a_note() -> None:
    with_activity = _run("run-a", [{"epoch": e, "val_inactive_fraction": {"act1": [0.1 * e, 0.5]}} for e in range(3)])
    without = _run("run-b", [{"epoch": e, "val_member_kl": [0.3, 0.4]} for e in range(3)])
    ax = sparsity_during_training([with_activity, without]).axes[0]
    assert len(ax.lines) == 1
    assert list(ax.lines[0].get_ydata()) == [0.0, 0.1, 0.2]  # member 1 of act1, per epoch
    notes = [t.get_text() for t in ax.texts]
    assert notes == ["no activity recorded (no activation layers) for 1 run(s): run-b"]


def test_no_note_when_every_run_has_activity() -> None:
    run = _run("run-a", [{"epoch": 0, "val_inactive_fraction": {"act1": [0.25]}}])
    ax = sparsity_during_training([run]).axes[0]
    assert len(ax.lines) == 1 and len(ax.texts) == 0
