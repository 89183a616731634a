"""``experiment: codeepnet``: the run (steps 1-6 of :mod:`coterie.experiments.codeepnet`) and the comparison of its
test figures with seed 001's claims."""

from __future__ import annotations

import time
from typing import Any

from coterie.experiments import headlines
from coterie.experiments.artifacts import codeepnet as artifacts
from coterie.experiments.codeepnet.config import CoDeepNetConfig
from coterie.experiments.codeepnet.final import final_training
from coterie.experiments.codeepnet.prepare import prepare_data
from coterie.experiments.codeepnet.search import search_architecture
from coterie.experiments.registry import register
from coterie.report.codeepnet import codeepnet_figures
from coterie.utils.device import resolve_device
from coterie.utils.rundir import RunDir
from coterie.utils.seed import seed_everything


def claims(models: dict[str, Any]) -> dict[str, bool]:
    """Seed 001's statements checked on the test figures: the pair against the single CNN (MAE, parameters, FLOPs,
    training time) and against each baseline present, and MAE below 4 years."""
    pair = models["codeepnet"]
    out: dict[str, bool] = {}
    if "single_cnn_searched" in models:
        out["pair_beats_searched_single_cnn_mae"] = pair["mae"] < models["single_cnn_searched"]["mae"]
    if "single_cnn" in models:
        single = models["single_cnn"]
        out["pair_beats_single_cnn_mae"] = pair["mae"] < single["mae"]
        out["pair_fewer_parameters_than_single_cnn"] = pair["n_parameters"] < single["n_parameters"]
        out["pair_fewer_forward_flops_than_single_cnn"] = pair["forward_flops"] < single["forward_flops"]
        out["pair_less_training_time_than_single_cnn"] = pair["train_seconds"] < single["train_seconds"]
        out["pair_fewer_training_flops_than_single_cnn"] = pair["train_gflops"] < single["train_gflops"]
    for name in ("svr", "gbr", "elastic_net", "horvath2013", "hannum2013"):
        if name in models:
            out[f"pair_beats_{name}_mae"] = pair["mae"] < models[name]["mae"]
    out["pair_mae_below_4_years"] = pair["mae"] < 4.0
    return out


@register(
    "codeepnet",
    CoDeepNetConfig,
    "Co-DeepNet pair vs single CNN, SVR, gradient boosting, elastic net (age); "
    "load: {pair, ablations, single_cnn, chromosome, scaler, cpgs, fill_values}",
    load=artifacts.load,
    headline=headlines.codeepnet,
)
def run(cfg: CoDeepNetConfig, rundir: RunDir) -> dict[str, Any]:
    """Run the Co-DeepNet age-prediction study described in :mod:`coterie.experiments.codeepnet`."""
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    t_start = time.perf_counter()
    prep = prepare_data(cfg)
    chromosome, search_out = search_architecture(cfg, prep, rundir, device)
    single_chromosome, single_search = None, None
    if cfg.baselines.single_cnn_search and cfg.search.enabled:
        single_chromosome, single_search = search_architecture(cfg, prep, rundir, device, model="single")
    final = final_training(cfg, prep, chromosome, rundir, device, single_chromosome)
    codeepnet_figures(rundir, search_out, final.curves, final.test_preds, prep.a_te)
    mae = {k: v["mae"] for k, v in final.models.items()}
    return {
        "experiment": "codeepnet",
        "device": str(device),
        "data": prep.info,
        "target_transform": cfg.target_transform,
        "chromosome": chromosome.to_dict(),
        "chromosome_description": chromosome.describe(),
        "search": search_out,
        "single_cnn_search": single_search,
        "mae": mae,
        "test": {f"{k}_mae": v for k, v in mae.items()},
        "models": final.models,
        "claims": claims(final.models),
        "seconds": time.perf_counter() - t_start,
    }
