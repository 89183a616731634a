"""Artefacts of ``experiment: robustness``: every trained target ensemble and the surrogate, per repeat.

Files: ``repeat<r>/ensemble-<label>.safetensors`` per target method (``/`` in a label becomes ``_``: ``PARL/1`` →
``ensemble-PARL_1.safetensors``) and ``repeat<r>/surrogate.safetensors``. Headers record the member model's name,
full constructor arguments and the method label. The ensembles take inputs as the experiment fed them: after
``input_scaling: minmax`` that is inputs mapped to [0, 1] with ``results.json``'s ``data.scaling`` min and max.
"""

from __future__ import annotations

from typing import Any

import torch

from coterie.experiments.artifacts import store
from coterie.utils.rundir import RunDir

SURROGATE = "surrogate"


def save_repeat(
    rundir: RunDir,
    repeat: int,
    model: str,
    kwargs: dict[str, Any],
    targets: dict[str, Any],
    surrogate: Any,
    label_kwargs: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Write the targets and the surrogate of one repeat into ``repeat<r>/``. ``label_kwargs`` gives a target's own
    member arguments when they differ from ``kwargs`` (e.g. GAL's leaky-ReLU members)."""
    d = rundir.path / f"repeat{repeat}"
    for label, ens in targets.items():
        fname = f"ensemble-{label.replace('/', '_')}.safetensors"
        kw = (label_kwargs or {}).get(label, kwargs)
        store.save_ensemble(d / fname, ens, model, kw, experiment="robustness", label=label, repeat=repeat)
    store.save_ensemble(
        d / f"{SURROGATE}.safetensors",
        surrogate,
        model,
        kwargs,
        experiment="robustness",
        label=SURROGATE,
        repeat=repeat,
    )


def load(cfg: Any, rundir: RunDir, which: str, device: torch.device | None) -> dict[str, Any]:
    """``{label: Ensemble}`` (eval mode) of one repeat: every target method in training order, then ``surrogate``.

    ``which``: ``final`` or ``best`` give the first repeat (``first_repeat``; the experiment selects no epoch, both
    are the final weights); ``repeat<r>`` gives repeat r.
    """
    repeats = [f"repeat{r}" for r in range(cfg.first_repeat, cfg.first_repeat + cfg.repeats)]
    store.check_which(which, "robustness", (*store.FINAL_OR_BEST, *repeats))
    d = rundir.path / (repeats[0] if which in store.FINAL_OR_BEST else which)
    labels = (rundir.read_results() or {}).get("methods")
    if labels is None:
        raise FileNotFoundError(f"{rundir.path} holds no results.json listing the methods: the run did not finish")
    out: dict[str, Any] = {}
    for label in labels:
        out[label] = store.load_ensemble(d / f"ensemble-{label.replace('/', '_')}.safetensors", device)
    out[SURROGATE] = store.load_ensemble(d / f"{SURROGATE}.safetensors", device)
    return out
