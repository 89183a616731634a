"""The figures `coterie run` prints for experiments with nested results (coterie.experiments.headlines), on hand-made
results in each experiment's results.json layout."""

from __future__ import annotations

import pytest

from coterie.experiments import headlines, registry


def _summary(mean: float) -> dict[str, float]:
    return {"mean": mean, "std": 0.0, "ci95": 0.0, "n": 1}


def test_robustness_clean_and_worst_black_box_attack() -> None:
    rows = {"PARL": {"clean": _summary(0.9), "fgsm": _summary(0.5), "pgd": _summary(0.2), "bim": _summary(0.3)}}
    got = headlines.robustness({"table1": {"blackbox": {"eps": 0.07, "rows": rows}}})
    assert got == {"PARL: clean acc": 0.9, "PARL: black-box acc, worst attack, ε = 0.07": 0.2}


def test_merge_best_parent_ensemble_and_each_merge() -> None:
    pair = {
        "parents": [{"test_acc": 0.7}, {"test_acc": 0.75}],
        "ensemble_test_acc": 0.78,
        "merged": {"average": {"test_acc": 0.3}, "mega-scalar": {"test_acc": 0.74}},
    }
    got = headlines.merge({"pair": pair})
    assert got == {
        "pair: best parent test acc": 0.75,
        "pair: output ensemble test acc": 0.78,
        "pair: average test acc": 0.3,
        "pair: mega-scalar test acc": 0.74,
    }


def test_ldnn_reads_each_model_and_skips_the_split_sizes() -> None:
    results = {
        "sizes": {"train": 700, "val": 100, "test": 200},
        "nn": {"metric": "accuracy", "val": {"mix": {"mean": 0.6, "n": 3}, "relu": {"mean": 0.55, "n": 3}}},
        "hnn": {"metric": "mse", "val": {"mix": {"mean": 1e-6, "n": 3}}},
    }
    assert headlines.ldnn(results) == {
        "nn: mix val accuracy": 0.6,
        "nn: relu val accuracy": 0.55,
        "hnn: mix val mse": 1e-6,
    }


def test_codeepnet_test_maes() -> None:
    assert headlines.codeepnet({"mae": {"codeepnet": 4.4, "svr": 5.0}}) == {
        "codeepnet test MAE": 4.4,
        "svr test MAE": 5.0,
    }


@pytest.mark.parametrize("name", ["robustness", "merge", "ldnn", "codeepnet"])
def test_registered_and_empty_results_print_nothing(name: str) -> None:
    fn = getattr(headlines, name)
    assert registry.get(name).headline is fn
    assert fn({"wall_seconds": 1.0}) == {}  # a partial or older results file: no crash, nothing to show
