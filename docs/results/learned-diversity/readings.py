"""The README's per-claim readings (seed 004 hypotheses table), transcribed into one small function per claim.

Each function takes the settings of ``summarise.settings`` ({(task, model, width, source, E): {arm: {seed: row}}})
and returns rows ``(claim, setting, numbers, verdict)``; verdict is holds | weaker | does not hold | no data (or
"descriptive" for Fig 6(d)). Every test is summarise.py's: paired two-sided Wilcoxon on validation (the primary
metric), Holm over the compared arms. A task rerun with 2E gives one reading per E. Fig 4's sweep settings are those
whose ``source`` carries the base (``summarise.settings`` writes "mnist1d (base zero)" for a non-sine base).
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
NO_DATA = "no data"
WIDTHS = (25, 50, 100, 200, 400)
Arms = dict[str, dict[int, dict[str, Any]]]
Sets = dict[tuple, Arms]
Reading = tuple[str, str, str, str]


@lru_cache(maxsize=1)
def _s() -> Any:
    """summarise.py next to this file (loaded by path: both are run as files, not a package)."""
    spec = importlib.util.spec_from_file_location("ldnn_study_summarise_for_readings", HERE / "summarise.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _higher(arms: Arms) -> bool:
    return next(iter(next(iter(arms.values())).values()))["metric"] == "accuracy"


def _pures(arms: Arms) -> list[str]:
    return sorted(a for a in arms if a.startswith("type"))


def _label(key: tuple) -> str:
    task, model, width, source, epochs = key
    src = "" if source == task else f", from {source}"
    return f"{task} {model} w{width}{src}, E={epochs}"


def _main(sets: Sets, task: str, model: str) -> list[tuple[tuple, Arms]]:
    """The task's own-activation, base-sine settings (one per width × E)."""
    return [(k, a) for k, a in sets.items() if k[0] == task and k[1] == model and k[3] == task]


def _cmp_text(cmp: dict[str, dict[str, Any]], arms: list[str]) -> str:
    return "; ".join(f"vs {a} {cmp[a]['advantage']:+.4g} (Holm p {cmp[a]['p_holm']:.3g})" for a in arms if a in cmp)


def mix_rule(arms: Arms) -> tuple[str, dict[str, dict[str, Any]]]:
    """Statistics, "mix beats each pure type": holds — mix better on average than type1 and type2 and Holm p < 0.05
    against both, with the same sign on test; weaker — better on average than both but not significantly against
    both (or test disagrees); does not hold — some pure type at least as good on average (summarise.claim_verdict).
    Returns the verdict and the validation comparison."""
    pures = _pures(arms)
    if "mix" not in arms or len(pures) < 2:
        return NO_DATA, {}
    s, higher = _s(), _higher(arms)
    val, test = s.compare_mix(arms, "val_metric", higher), s.compare_mix(arms, "test_metric", higher)
    return s.claim_verdict(val, test, pures), val


def fig3(sets: Sets) -> list[Reading]:
    """Fig 3 (MNIST-1D): mix > type1 and mix > type2 in accuracy — "rule above on type1/type2; baselines reported
    with Holm p" (the baselines do not enter the verdict)."""
    rows = []
    for key, arms in _main(sets, "mnist1d", "nn"):
        v, cmp = mix_rule(arms)
        rows.append(("Fig 3", _label(key), _cmp_text(cmp, ["type1", "type2", "relu", "tanh", "sin"]), v))
    return rows or [("Fig 3", "mnist1d nn", "", NO_DATA)]


def fig5(sets: Sets) -> list[Reading]:
    """Fig 5 (van der Pol): mix < type1, type2 in MSE — "rule above"; mix < sine: "'outperforms sine' holds if also
    Holm p < 0.05 vs sine". Literal reading of the sine part: holds — mix lower on average and Holm p < 0.05;
    weaker — lower on average only; does not hold — sine at least as good on average."""
    rows = []
    for key, arms in _main(sets, "vanderpol", "nn"):
        v, cmp = mix_rule(arms)
        rows.append(("Fig 5", _label(key), _cmp_text(cmp, ["type1", "type2"]), v))
        if "sin" in cmp:
            c = cmp["sin"]
            vs = "does not hold" if not c["advantage"] > 0 else "holds" if c["p_holm"] < _s().ALPHA else "weaker"
            rows.append(("Fig 5 vs sine", _label(key), _cmp_text(cmp, ["sin"]), vs))
    return rows or [("Fig 5", "vanderpol nn", "", NO_DATA)]


def fig4(sets: Sets) -> list[Reading]:
    """Fig 4 (size), MNIST-1D base zero over widths {25, 50, 100, 200, 400}: "holds: Fig 3 rule holds at all 5
    widths; weaker: mix better on average at all widths but not all significant, or holds at ≥ 3; does not hold: a
    pure type at least as good at ≥ 3 widths". Checked in that order (holds, does not hold, weaker). Literal reading
    of the gaps: fewer than the 5 widths at an E → no data; a sweep meeting none of the three (e.g. holds at 2,
    loses at 2) → does not hold, since weaker's conditions are explicit and unmet. mix > ReLU/tanh/sine is reported
    (widths where mix is better on average) but does not enter the verdict."""
    by_e: dict[int, dict[int, Arms]] = {}
    for (task, model, width, source, epochs), arms in sets.items():
        if task == "mnist1d" and model == "nn" and source == "mnist1d (base zero)":
            by_e.setdefault(epochs, {})[width] = arms
    rows = []
    for epochs, per_width in sorted(by_e.items()):
        rows.append(fig4_reading(per_width, epochs))
    return rows or [("Fig 4", "mnist1d nn base zero", "", NO_DATA)]


def fig4_reading(per_width: dict[int, Arms], epochs: int) -> Reading:
    """One E of the Fig 4 sweep (see fig4)."""
    label = f"mnist1d nn base zero, widths {sorted(per_width)}, E={epochs}"
    if any(w not in per_width for w in WIDTHS):
        return ("Fig 4", label, f"{len(set(WIDTHS) & set(per_width))}/5 widths", NO_DATA)
    verdicts, better, base_wins = {}, 0, {b: 0 for b in ("relu", "tanh", "sin")}
    for w in WIDTHS:
        verdicts[w], cmp = mix_rule(per_width[w])
        better += all(cmp[p]["advantage"] > 0 for p in _pures(per_width[w])) if cmp else 0
        for b in base_wins:
            base_wins[b] += bool(cmp.get(b) and cmp[b]["advantage"] > 0)
    n_holds = sum(v == "holds" for v in verdicts.values())
    n_lose = sum(v == "does not hold" for v in verdicts.values())
    if n_holds == 5:
        v = "holds"
    elif n_lose >= 3:
        v = "does not hold"
    elif better == 5 or n_holds >= 3:
        v = "weaker"
    else:
        v = "does not hold"
    nums = (
        ", ".join(f"w{w}: {verdicts[w]}" for w in WIDTHS) + f"; holds at {n_holds}/5, pure ≥ mix at {n_lose}/5;"
        " mix better on average than " + ", ".join(f"{b} at {k}/5" for b, k in base_wins.items())
    )
    return ("Fig 4", label, nums, v)


def fig6a(sets: Sets) -> list[Reading]:
    """Fig 6(a) (Hénon–Heiles): mix beats each pure type, for nn and for hnn — "rule above per model"."""
    rows = []
    for model in ("nn", "hnn"):
        found = _main(sets, "henonheiles", model)
        for key, arms in found:
            v, cmp = mix_rule(arms)
            rows.append(("Fig 6(a)", _label(key), _cmp_text(cmp, ["type1", "type2"]), v))
        if not found:
            rows.append(("Fig 6(a)", f"henonheiles {model}", "", NO_DATA))
    return rows


def _hnn_pairs(sets: Sets) -> list[tuple[tuple, Arms, Arms]]:
    """(hnn key, hnn arms, nn arms) for every Hénon–Heiles hnn setting with an nn twin (same width, source, E)."""
    return [
        (k, a, sets[(k[0], "nn", *k[2:])])
        for k, a in sets.items()
        if k[0] == "henonheiles" and k[1] == "hnn" and k[3] == k[0] and (k[0], "nn", *k[2:]) in sets
    ]


def fig6b(sets: Sets) -> list[Reading]:
    """Fig 6(b), HNN ≪ NN: "holds: HNN mean MSE ≤ ½ NN's for every arm, Holm p < 0.05 (over arms); weaker: lower
    but not by 2× or not significant; does not hold: NN lower for some arm". Literal: Holm p < 0.05 for every arm;
    "NN lower" = NN mean below HNN mean (ratio > 1)."""
    rows = []
    for key, hnn, nn in _hnn_pairs(sets):
        r = _s().hnn_vs_nn(hnn, nn)
        if not r:
            continue
        if any(v["ratio"] > 1 for v in r.values()):
            v = "does not hold"
        elif all(v["ratio"] <= 0.5 and v["p_holm"] < _s().ALPHA for v in r.values()):
            v = "holds"
        else:
            v = "weaker"
        nums = "; ".join(f"{a}: ratio {x['ratio']:.3g}, Holm p {x['p_holm']:.3g}" for a, x in r.items())
        rows.append(("Fig 6(b)", _label(key), nums, v))
    return rows or [("Fig 6(b)", "henonheiles hnn vs nn", "", NO_DATA)]


def fig6c(sets: Sets) -> list[Reading]:
    """Fig 6(c), "doubly enhanced": "holds if the HNN mix has the lowest mean of the 10 arms, beats every other HNN
    arm (Holm p < 0.05) and the NN mix (the HNN-vs-NN line), weaker if lowest mean only" (does not hold otherwise;
    "beats" read as lower on average with Holm p < 0.05)."""
    rows = []
    for key, hnn, nn in _hnn_pairs(sets):
        if "mix" not in hnn or "mix" not in nn:
            continue
        means = {
            f"{m} {a}": float(np.mean([r["val_metric"] for r in per.values()]))
            for m, arms in (("hnn", hnn), ("nn", nn))
            for a, per in arms.items()
        }
        lowest = min(means, key=means.get) == "hnn mix"
        cmp = _s().compare_mix(hnn, "val_metric", False)
        line = _s().hnn_vs_nn(hnn, nn)["mix"]
        beats = all(c["advantage"] > 0 and c["p_holm"] < _s().ALPHA for c in cmp.values())
        beats_nn = line["ratio"] < 1 and line["p_holm"] < _s().ALPHA
        v = "holds" if lowest and beats and beats_nn else "weaker" if lowest else "does not hold"
        nums = (
            f"lowest of {len(means)}: {min(means, key=means.get)}; hnn mix {_cmp_text(cmp, list(cmp))}; "
            f"vs nn mix ratio {line['ratio']:.3g}, Holm p {line['p_holm']:.3g}"
        )
        rows.append(("Fig 6(c)", _label(key), nums, v))
    return rows or [("Fig 6(c)", "henonheiles hnn mix", "", NO_DATA)]


def fig6d(sets: Sets) -> list[Reading]:
    """Fig 6(d), HNN spread smaller: "descriptive (sd ratio)" — sd of val MSE over seeds, hnn/nn, per arm."""
    rows = [
        (
            "Fig 6(d)",
            _label(k),
            "; ".join(f"{a}: sd ratio {x['sd_ratio']:.3g}" for a, x in _s().hnn_vs_nn(h, n).items()),
            "descriptive",
        )
        for k, h, n in _hnn_pairs(sets)
    ]
    return rows or [("Fig 6(d)", "henonheiles hnn vs nn", "", NO_DATA)]


FLAT = (("participation_r", True), ("hessian_trace", False), ("near_zero_fraction", True))


def fig8_reading(arms: Arms) -> tuple[str, str]:
    """Fig 8 (secondary): "mix has the highest participation ratio r; Tr H₁ > Tr H₂ > Tr H₁₂ and f₁ < f₂ < f₁₂";
    "holds: ordering of means, mix vs each type Holm p < 0.05; weaker: ordering of means only; does not hold
    otherwise". Literal: "highest r" among type1, type2, mix (the arms the orderings name); Holm p is summarise's
    (over all arms of the setting) for each of the three quantities; means over seeds with a value."""
    if not {"mix", "type1", "type2"} <= set(arms):
        return NO_DATA, ""
    s = _s()
    m = {
        c: {a: s._mean(np.array([r[c] for r in arms[a].values()])) for a in ("type1", "type2", "mix")} for c, _ in FLAT
    }
    if any(x != x for d in m.values() for x in d.values()):
        return NO_DATA, "flatness columns missing"
    r, t, f = m["participation_r"], m["hessian_trace"], m["near_zero_fraction"]
    order = (
        r["mix"] > max(r["type1"], r["type2"])
        and t["type1"] > t["type2"] > t["mix"]
        and (f["type1"] < f["type2"] < f["mix"])
    )
    sig = all(s.compare_mix(arms, c, better)[p]["p_holm"] < s.ALPHA for c, better in FLAT for p in ("type1", "type2"))
    v = "holds" if order and sig else "weaker" if order else "does not hold"
    nums = "; ".join(f"{c} " + "/".join(f"{d[a]:.4g}" for a in ("type1", "type2", "mix")) for c, d in m.items())
    return v, nums + " (type1/type2/mix)"


def fig8(sets: Sets) -> list[Reading]:
    """Fig 8 per own-activation base-sine setting (every task, model and E); see fig8_reading."""
    rows = []
    for key, arms in sets.items():
        if key[3] == key[0]:
            v, nums = fig8_reading(arms)
            rows.append(("Fig 8", _label(key), nums, v))
    return rows or [("Fig 8", "", "", NO_DATA)]


def reuse(sets: Sets) -> list[Reading]:
    """Reuse: "holds: reused mix beats the target's sine on average and is not significantly worse than the own mix
    (Holm p ≥ 0.05 or better on average); weaker: beats sine but significantly worse than own mix; does not hold:
    not better than sine on average". Reused mix vs the target's own sine and own mix at the same width and E, paired
    by seed; literal reading of "Holm": over these two comparisons."""
    s, rows = _s(), []
    for (task, model, width, source, epochs), arms in sets.items():
        own = sets.get((task, model, width, task, epochs))
        if source == task or " (base " in source or "mix" not in arms:
            continue
        if not own or "mix" not in own or "sin" not in own:
            rows.append(
                ("reuse", _label((task, model, width, source, epochs)), "target's own mix/sin missing", NO_DATA)
            )
            continue
        higher, d = _higher(arms), {}
        for ref in ("sin", "mix"):
            a, b = s._paired(arms["mix"], own[ref], "val_metric")
            d[ref] = a - b if higher else b - a
        ps = s.holm([p if p == p else 1.0 for p in (s.wilcoxon_p(d["sin"]), s.wilcoxon_p(d["mix"]))])
        if not d["sin"].mean() > 0:
            v = "does not hold"
        else:
            v = "holds" if ps[1] >= _s().ALPHA or d["mix"].mean() > 0 else "weaker"
        nums = (
            f"vs own sin {d['sin'].mean():+.4g} (Holm p {ps[0]:.3g}); vs own mix {d['mix'].mean():+.4g} "
            f"(Holm p {ps[1]:.3g}); > 0: reused better"
        )
        rows.append(("reuse", _label((task, model, width, source, epochs)), nums, v))
    return rows or [("reuse", "", "", NO_DATA)]


def readings(sets: Sets) -> list[Reading]:
    """Every claim's readings, in the README table's order."""
    return [r for f in (fig3, fig4, fig5, fig6a, fig6b, fig6c, fig6d, fig8, reuse) for r in f(sets)]


def readings_report(rows: list[dict[str, Any]], out: Any) -> None:
    """Print the Readings section (a markdown table) through ``out`` (a line writer)."""
    out("\n## Readings (README hypotheses table; validation, Holm, α = 0.05)\n")
    out("| claim | setting | numbers (advantage > 0: mix better) | verdict |")
    out("|---|---|---|---|")
    for claim, setting, nums, v in readings(_s().settings(rows)):
        out(f"| {claim} | {setting} | {nums} | **{v}** |")
