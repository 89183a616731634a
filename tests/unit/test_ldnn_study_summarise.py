"""docs/results/learned-diversity/summarise.py on a tiny hand-made runs.csv: Holm-corrected exact Wilcoxon,
paired advantages and the pre-registered verdict, against numbers computed by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from script_loader import load_script

ROOT = Path(__file__).resolve().parents[2]


def _summarise():
    path = ROOT / "docs/results/learned-diversity/summarise.py"
    return load_script(path, "ldnn_study_summarise")


# 6 seeds. mix - type1 = +1..+6 % (all positive), mix - type2 = +1,+2,+3,+4,+5,-6 %, mix - relu = -1..-6 %.
MIX = [0.50, 0.51, 0.52, 0.53, 0.54, 0.55]
OTHERS = {
    "type1": [m - d / 100 for m, d in zip(MIX, [1, 2, 3, 4, 5, 6])],
    "type2": [m - d / 100 for m, d in zip(MIX, [1, 2, 3, 4, 5, -6])],
    "relu": [m + d / 100 for m, d in zip(MIX, [1, 2, 3, 4, 5, 6])],
}


def _write(path: Path) -> None:
    lines = [
        "task,arm,seed,val_metric,test_metric,metric,model,width,source,participation_r,hessian_trace,"
        "near_zero_fraction"
    ]
    for arm, vals in {"mix": MIX, **OTHERS}.items():
        for s, v in enumerate(vals):
            nz = "0.5" if s < 2 else ""
            lines.append(f"mnist1d,{arm},{s},{v:.4f},{v:.4f},accuracy,nn,100,mnist1d,0.2,10,{nz}")
    path.write_text("\n".join(lines) + "\n")


def test_holm_by_hand() -> None:
    mod = _summarise()
    # sorted 0.01, 0.02, 0.04 -> 3*0.01, max(0.03, 2*0.02), max(0.04, 0.04); original order kept
    assert mod.holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])
    assert mod.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])


def test_compare_and_verdict_by_hand(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mod = _summarise()
    _write(tmp_path / "runs.csv")
    rows = mod.read_runs(tmp_path / "runs.csv")
    arms = mod.settings(rows)[("mnist1d", "nn", 100, "mnist1d", 0)]  # E not recorded in this hand-made runs.csv
    cmp = mod.compare_mix(arms, "val_metric", higher=True)
    # exact signed-rank, n = 6: all of one sign -> 2/64; W- = 6 -> 2 * #{subsets of 1..6 with sum <= 6} / 64 = 28/64
    assert cmp["type1"]["p"] == pytest.approx(2 / 64)
    assert cmp["relu"]["p"] == pytest.approx(2 / 64)
    assert cmp["type2"]["p"] == pytest.approx(28 / 64)
    # Holm over 3 arms: 3 * 2/64 = 0.09375 for both small ones; 0.4375 stays
    assert cmp["type1"]["p_holm"] == pytest.approx(0.09375)
    assert cmp["relu"]["p_holm"] == pytest.approx(0.09375)
    assert cmp["type2"]["p_holm"] == pytest.approx(0.4375)
    assert cmp["type1"]["advantage"] == pytest.approx(0.035)
    assert cmp["type2"]["advantage"] == pytest.approx(0.015)
    assert cmp["relu"]["advantage"] == pytest.approx(-0.035)
    assert (cmp["type1"]["wins"], cmp["type2"]["wins"], cmp["relu"]["wins"]) == (6, 5, 0)
    # better on average than both pure types, but not significantly after Holm -> weaker
    assert mod.verdict(cmp, ["type1", "type2"]) == "weaker"
    mod.main(["--runs", str(tmp_path / "runs.csv")])
    text = capsys.readouterr().out
    assert "| mix | 6 | 52.50% ± 1.87% |" in text  # mean 0.525, sd of 0.50..0.55 = 0.018708
    assert "0.500 ± 0.000 [0.500, 0.500]" in text  # near-zero fraction only on seeds 0-1
    assert "mix beats each pure type (val): **weaker**" in text
    assert "claim (validation, checked on test): **weaker**" in text


def test_verdict_rules() -> None:
    mod = _summarise()
    sig = {"type1": {"advantage": 0.01, "p_holm": 0.01}, "type2": {"advantage": 0.02, "p_holm": 0.04}}
    assert mod.verdict(sig, ["type1", "type2"]) == "holds"
    test = {"type1": {"advantage": 0.01}, "type2": {"advantage": -0.01}}
    assert mod.claim_verdict(sig, test, ["type1", "type2"]) == "weaker"  # holds on val, test disagrees
    test["type2"]["advantage"] = 0.002
    assert mod.claim_verdict(sig, test, ["type1", "type2"]) == "holds"
    sig["type2"]["advantage"] = -0.001
    assert mod.verdict(sig, ["type1", "type2"]) == "does not hold"


def _eval_record(arm: str, val: float, test: float, participation: float, **extra: float) -> dict:
    """One ldnn per-seed eval record of seed 0 as metrics.jsonl holds it (accuracy task)."""
    return {
        "phase": "eval",
        "model": "nn",
        "arm": arm,
        "seed": 0,
        "val_accuracy": val,
        "test_accuracy": test,
        "participation_ratio": participation,
        **extra,
    }


def test_collect_from_run_dir(tmp_path: Path) -> None:
    """--collect turns ldnn's per-seed eval records into runs.csv rows (r = participation ratio / width) and the
    meta-learning summary into meta.csv."""
    mod = _summarise()
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.yaml").write_text("experiment: ldnn\ntask: mnist1d\nhidden: [50]\n")
    meta = {
        "first_inner_loss": 2.0,
        "last_inner_loss": 1.0,
        "meta_network_val": 0.5,
        "outer_steps_run": 7,
        "stopped": "plateau",
        "best_outer_step": 3,
        "val_loss_curve": [2.0, 1.5, 1.25],
        "export_max_abs_error_on_range": 0.001,
    }
    (run / "results.json").write_text(json.dumps({"task": "mnist1d", "nn": {"metric": "accuracy", "meta": meta}}))
    recs = [
        {"phase": "meta", "model": "nn", "outer_step": 1},
        _eval_record("mix", 0.5, 0.6, 10.0, hessian_trace=3.0, near_zero_fraction=0.25),
        _eval_record("relu", 0.4, 0.45, 5.0),
    ]
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in recs) + "\n")
    dest = tmp_path / "out"
    dest.mkdir()
    mod.main(["--collect", str(run), "--runs", str(dest / "runs.csv")])
    rows = mod.read_runs(dest / "runs.csv")
    assert [(r["arm"], r["seed"], r["val_metric"], r["test_metric"], r["metric"], r["width"]) for r in rows] == [
        ("mix", 0, 0.5, 0.6, "accuracy", 50),
        ("relu", 0, 0.4, 0.45, "accuracy", 50),
    ]
    assert rows[0]["participation_r"] == pytest.approx(0.2) and rows[1]["participation_r"] == pytest.approx(0.1)
    assert rows[0]["near_zero_fraction"] == 0.25 and rows[1]["hessian_trace"] != rows[1]["hessian_trace"]  # NaN
    meta_text = (dest / "meta.csv").read_text()
    assert "mnist1d,nn,7,plateau,3,0.5,2,1.25,0.001" in meta_text


def test_hnn_vs_nn_and_reuse_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fig 6(b): mean HNN/NN val MSE ratio per arm (here 0.5 by construction, all 6 seeds lower: p = 2/64, Holm
    over 1 arm = 2/64); reuse: the reused mix against the target's own mix (+0.01 on every seed)."""
    mod = _summarise()
    head = "task,arm,seed,val_metric,test_metric,metric,model,width,source"
    lines = [head]
    for s in range(6):
        nn_v = 0.010 + 0.001 * s
        lines.append(f"henonheiles,mix,{s},{nn_v},{nn_v},mse,nn,100,henonheiles")
        lines.append(f"henonheiles,mix,{s},{nn_v / 2},{nn_v / 2},mse,hnn,100,henonheiles")
        lines.append(f"mnist1d,mix,{s},{0.5 + 0.01 * s},0.5,accuracy,nn,100,mnist1d")
        lines.append(f"mnist1d,mix,{s},{0.51 + 0.01 * s},0.5,accuracy,nn,100,vanderpol")
    (tmp_path / "runs.csv").write_text("\n".join(lines) + "\n")
    mod.main(["--runs", str(tmp_path / "runs.csv")])
    text = capsys.readouterr().out
    assert f"henonheiles HNN vs NN (val MSE ratio hnn/nn, Holm p): mix: 0.5, {2 / 64:.3g}" in text
    assert (
        f"reuse on mnist1d (nn, activations from vanderpol), reused mix vs own mix: 0.01 (> 0: reused better), "
        f"p = {2 / 64:.3g}" in text
    )


def test_base_zero_sweep_is_its_own_setting(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A width-100 run of the Fig 4 sweep (base zero) is not merged with the main study's width 100 (base sine),
    is not read as a reuse run, and a runs.csv without the base column reads as base sine."""
    mod = _summarise()
    head = "task,arm,seed,val_metric,test_metric,metric,model,width,source,base"
    lines = [head]
    for s in range(3):
        lines.append(f"mnist1d,mix,{s},0.5,0.5,accuracy,nn,100,mnist1d,sin")
        lines.append(f"mnist1d,mix,{s},0.7,0.7,accuracy,nn,100,mnist1d,zero")
    (tmp_path / "runs.csv").write_text("\n".join(lines) + "\n")
    sets = mod.settings(mod.read_runs(tmp_path / "runs.csv"))
    assert sorted(sets) == [("mnist1d", "nn", 100, "mnist1d", 0), ("mnist1d", "nn", 100, "mnist1d (base zero)", 0)]
    assert [r["val_metric"] for r in sets[("mnist1d", "nn", 100, "mnist1d (base zero)", 0)]["mix"].values()] == [
        0.7
    ] * 3
    mod.main(["--runs", str(tmp_path / "runs.csv")])
    text = capsys.readouterr().out
    assert "reuse on" not in text and "## Readings" in text
    old = tmp_path / "old.csv"
    old.write_text("\n".join(line.rsplit(",", 1)[0] for line in lines[:2]) + "\n")
    assert mod.read_runs(old)[0]["base"] == "sin"


def test_collect_records_base(tmp_path: Path) -> None:
    """--collect writes the config's ``base`` (sine when the config has none)."""
    mod = _summarise()
    for name, cfg in (("zero", "base: zero\n"), ("default", "")):
        run = tmp_path / name
        run.mkdir()
        (run / "config.yaml").write_text(f"experiment: ldnn\ntask: mnist1d\nhidden: [25]\n{cfg}")
        (run / "results.json").write_text(json.dumps({"task": "mnist1d", "nn": {"metric": "accuracy", "meta": None}}))
        (run / "metrics.jsonl").write_text(json.dumps(_eval_record("mix", 0.5, 0.6, 5.0)) + "\n")
    mod.main(["--collect", str(tmp_path / "zero"), str(tmp_path / "default"), "--runs", str(tmp_path / "runs.csv")])
    assert [r["base"] for r in mod.read_runs(tmp_path / "runs.csv")] == ["zero", "sin"]
