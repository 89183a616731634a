"""Artefacts of ``experiment: codeepnet``: the trained Co-DeepNet pair, its ablation pairs and the single CNN.

Files in the run directory (first repeat, as ``checkpoints/codeepnet.safetensors``):

- ``pair.safetensors``: the Co-DeepNet pair built from the chosen chromosome (the genetic search's best when the
  search ran, else ``model.chromosome`` or the default);
- ``pair-<transfer>.safetensors``: each ablation pair (``ablations``);
- ``single_cnn.safetensors``: the larger single CNN baseline (when ``baselines.single_cnn``).

Headers hold what rebuilds the networks and turns their outputs into ages without the data: the chromosome (or the
single CNN's genes), input length, transfer mode, prediction rule, dropout, the target scaler (transform, mean, std)
and the preprocessing (selected CpG names in input order, their imputation values). The scikit-learn baselines are
not saved (they would need pickle).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from coterie.experiments.artifacts import store
from coterie.utils.rundir import RunDir

PAIR = "pair"
SINGLE = "single_cnn"


def _common(scaler: Any, pre: Any, input_length: int, dropout: float) -> dict[str, Any]:
    fill = pre.fill_values_
    return {
        "experiment": "codeepnet",
        "input_length": int(input_length),
        "dropout": float(dropout),
        "scaler": {
            "transform": scaler.transform,
            "adult_age": scaler.adult_age,
            "mean": scaler.mean_,
            "std": scaler.std_,
        },
        "cpgs": list(pre.selected_),
        "fill_values": [float(v) for v in (fill.to_numpy() if fill is not None else [])],
    }


def save_pair(
    rundir: RunDir, transfer: str, main: bool, model: nn.Module, chromosome: Any, scaler: Any, pre: Any
) -> None:
    """Write ``pair.safetensors`` (``main``) or ``pair-<transfer>.safetensors`` (an ablation)."""
    meta = {
        **_common(scaler, pre, model.input_length, model.dropout),
        "chromosome": chromosome.to_dict(),
        "transfer": transfer,
        "prediction": model.prediction,
    }
    store.save_modules(rundir.path / (f"{PAIR}.safetensors" if main else f"{PAIR}-{transfer}.safetensors"), model, meta)


def save_single(rundir: RunDir, net: nn.Module, input_length: int, dropout: float, scaler: Any, pre: Any) -> None:
    """Write ``single_cnn.safetensors`` (genes stored in chromosome-net form)."""
    from coterie.cooperative.chromosome import Chromosome

    genes = Chromosome(nets=(net.genes, net.genes)).to_dict()["nets"][0]
    store.save_modules(
        rundir.path / f"{SINGLE}.safetensors", net, {**_common(scaler, pre, input_length, dropout), "genes": genes}
    )


def _pair(path: Any, device: torch.device | None) -> tuple[nn.Module, dict[str, Any]]:
    from coterie.cooperative.chromosome import Chromosome
    from coterie.cooperative.codeepnet import CoDeepNet

    tensors, meta = store.load_tensors(path)
    net = CoDeepNet(
        Chromosome.from_dict(meta["chromosome"]),
        meta["input_length"],
        meta["transfer"],
        meta["prediction"],
        meta["dropout"],
    )
    return store.finish(net, tensors, device), meta


def load(cfg: Any, rundir: RunDir, which: str, device: torch.device | None) -> dict[str, Any]:
    """``{"pair": CoDeepNet, "ablations": {transfer: CoDeepNet}, "single_cnn": SingleCNN | None, "chromosome":
    Chromosome, "scaler": TargetScaler, "cpgs": [str], "fill_values": [float]}``; networks in eval mode on ``device``.

    Networks map preprocessed betas (B, L) (columns ``cpgs``, missing values filled with ``fill_values``) to scaled
    targets (B, 1); ``scaler.decode`` turns those into ages. ``which``: ``final`` or ``best`` — both give the trained
    weights (training keeps its best-validation epoch itself).
    """
    from coterie.cooperative.baselines import SingleCNN
    from coterie.cooperative.chromosome import Chromosome
    from coterie.cooperative.training import TargetScaler

    store.check_which(which, "codeepnet")
    pair, meta = _pair(rundir.path / f"{PAIR}.safetensors", device)
    s = meta["scaler"]
    scaler = TargetScaler(s["transform"], s["adult_age"], s["mean"], s["std"])
    single = None
    if (rundir.path / f"{SINGLE}.safetensors").is_file():
        tensors, smeta = store.load_tensors(rundir.path / f"{SINGLE}.safetensors")
        genes = Chromosome.from_dict({"nets": [smeta["genes"], smeta["genes"]]}).nets[0]
        net = SingleCNN(
            genes,
            smeta["input_length"],
            smeta["dropout"],
            np.zeros(smeta["input_length"]),
            np.ones(smeta["input_length"]),
        )
        single = store.finish(net, tensors, device)
    return {
        "pair": pair,
        "ablations": {m: _pair(rundir.path / f"{PAIR}-{m}.safetensors", device)[0] for m in cfg.ablations},
        "single_cnn": single,
        "chromosome": Chromosome.from_dict(meta["chromosome"]),
        "scaler": scaler,
        "cpgs": meta["cpgs"],
        "fill_values": meta["fill_values"],
    }
