"""Training side of ``experiment: robustness``: input scaling, members per method, early checks, one training run."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from coterie.data import Splits, TensorData
from coterie.data.augment import build_augment
from coterie.ensemble import Ensemble
from coterie.experiments.build import build_objective, infer_model_kwargs, trainer_from_sections
from coterie.experiments.robustness.config import MethodConfig, RobustnessConfig, all_methods
from coterie.metrics.combine import combine
from coterie.training.trainer import predict_logits


def scale_splits(splits: Splits, mode: str) -> tuple[Splits, dict[str, float]]:
    """Affine map to [0, 1] with the training split's min/max (``minmax``); val/test are clipped. ``none``: as is."""
    if mode == "none":
        return splits, {}
    lo, hi = float(splits.train.x.min()), float(splits.train.x.max())

    def f(d: TensorData) -> TensorData:
        return TensorData(((d.x - lo) / (hi - lo)).clamp(0.0, 1.0), d.y, d.num_classes, d.name)

    return Splits(f(splits.train), f(splits.val), f(splits.test)), {"min": lo, "max": hi}


def member_kwargs(cfg: RobustnessConfig, splits: Splits, method: MethodConfig | None = None) -> dict[str, Any]:
    """Every constructor argument of the members: inferred from the data, ``model.kwargs``, the method's own."""
    given = {**cfg.model.kwargs, **(method.model_kwargs if method is not None else {})}
    return infer_model_kwargs(cfg.model.name, splits.input_shape, splits.num_classes, given)


def make_ensemble(cfg: RobustnessConfig, splits: Splits, seed: int, method: MethodConfig | None = None) -> Ensemble:
    """Members of the configured model (with the method's ``model_kwargs``). After ``minmax`` scaling, each member's
    internal input normalisation is set to the training split's mean and standard deviation (the model still takes
    [0, 1] inputs)."""
    kwargs = member_kwargs(cfg, splits, method)
    ens = Ensemble.from_factory(cfg.model.name, cfg.members, seed=seed, executor="loop", **kwargs)
    if cfg.input_scaling == "minmax":
        mean, std = float(splits.train.x.mean()), float(splits.train.x.std())
        for m in ens.members:
            if isinstance(getattr(m, "input_mean", None), torch.Tensor):
                m.input_mean.fill_(mean)
                m.input_std.fill_(std)
    return ens


def validate_objectives(cfg: RobustnessConfig, splits: Splits) -> None:
    """Build every method's members, augmentation and objective, and resolve its layers, before any training (bad
    K, layer names, model arguments or augmentation keys fail here)."""
    for m in all_methods(cfg):
        try:
            build_augment(m.augment_spec(cfg.data), splits.input_shape)
            probe = make_ensemble(cfg, splits, 0, m)
            obj = build_objective(m.objective)
            bind = getattr(obj, "bind", None)
            if bind is not None:
                bind(probe)
        except (ValueError, KeyError, TypeError) as e:
            raise ValueError(f"method {m.label!r}: {e}") from None


def train_ensemble(
    cfg: RobustnessConfig,
    splits: Splits,
    objective: Any,
    seeds: tuple[int, int],
    epochs: int,
    run_dir: Path,
    method: MethodConfig | None = None,
    init_state: dict[str, torch.Tensor] | None = None,
) -> tuple[Ensemble, list[dict[str, Any]]]:
    """Train one ensemble (``seeds`` = (initialisation seed, data-order seed)); returns it in eval mode and its
    per-epoch history. ``method`` gives the members' extra arguments and the augmentation (None: the surrogate,
    ``data.augment``)."""
    ens = make_ensemble(cfg, splits, seeds[0], method)
    if init_state is not None:
        ens.load_state_dict(init_state)
    bind = getattr(objective, "bind", None)
    if bind is not None:
        bind(ens)
    augment = method.augment_spec(cfg.data) if method is not None else cfg.data.augment
    trainer = trainer_from_sections(
        ens,
        objective,
        cfg,
        cfg.optimizer,
        cfg.schedule,
        epochs=epochs,
        batch_size=cfg.batch_size,
        seed=seeds[1],
        run_dir=run_dir,
        augment=build_augment(augment, splits.input_shape),
        max_steps_per_epoch=cfg.max_steps_per_epoch,
        progress=False,
    )
    history = trainer.fit(splits.train, splits.val)
    ens.eval()
    return ens, history


def clean_accuracy(ens: Ensemble, x: torch.Tensor, y: torch.Tensor, rules: Sequence[str] = ()) -> dict[str, Any]:
    """Clean accuracy of the ensemble under ``vote``, ``mean`` and any other ``rules``, and of each member."""
    logits = predict_logits(ens, x)
    y = y.to(logits.device)
    out: dict[str, Any] = {
        r: float((combine(logits, r).argmax(-1) == y).float().mean())  # type: ignore[arg-type]
        for r in dict.fromkeys(("vote", "mean", *rules))
    }
    out["members"] = [float(v) for v in (logits.argmax(-1) == y).float().mean(1)]
    return out
