"""The robustness study's figures and learning curves, from the committed CSVs (README "Results").

``python figures.py --collect RUN_DIR...`` writes ``curves.csv`` (``seed, method, epoch, train_loss, val_member_acc,
val_ens_acc_vote``: per target and epoch, the members' mean training loss and validation accuracy and the ensemble's
majority-vote validation accuracy) from each run's ``repeat*/<target>/metrics.jsonl``. ``python figures.py`` draws
into ``figures/``:

- ``blackbox.png`` (Fig. 3): transfer accuracy against ε per attack, mean over seeds with a 95 % CI band;
- ``whitebox.png`` (Fig. 4): the same for white-box attacks;
- ``k_ablation.png`` (Table 2 / Fig. 5): PARL/7, /5, /3 under transfer attacks;
- ``diversity.png`` (Fig. 2): mean layer-wise CKA and gradient cosine per method, each seed a dot;
- ``learning_curves.png``: every target's validation accuracy and training loss per epoch (convergence check).

Statistics come from ``summarise.py`` (mean, sample std, Student's t half-width), so a figure and the README's tables
cannot disagree. Scoring rule: ``--rule vote`` (seed 002, default) or ``mean``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.util
import json
from collections.abc import Sequence
from pathlib import Path
from statistics import fmean

import yaml

HERE = Path(__file__).resolve().parent
CURVE_FIELDS = ["seed", "method", "epoch", "train_loss", "val_member_acc", "val_ens_acc_vote"]
COLOURS = {"unprotected": "tab:gray", "adp": "tab:blue", "gal": "tab:green", "dverge": "tab:orange",
           "parl": "tab:red", "parl-5": "tab:purple", "parl-3": "tab:brown", "surrogate": "black"}


def _summarise():
    spec = importlib.util.spec_from_file_location("robustness_summarise", HERE / "summarise.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


S = _summarise()


def curve_rows(run_dir: Path) -> list[dict]:
    """One row per (seed, target, epoch) of a run dir (targets as ``repeat<R>/<label>/metrics.jsonl``, R counting
    from the config's ``first_repeat``)."""
    res = json.loads((run_dir / "results.json").read_text())
    first = yaml.safe_load((run_dir / "config.yaml").read_text()).get("first_repeat", 0)
    rows = []
    for rep_index, rep in enumerate(res["repeats"]):
        rep_dir = run_dir / f"repeat{first + rep_index}"
        for target in sorted(p for p in rep_dir.iterdir() if (p / "metrics.jsonl").exists()):
            method = S._method(target.name.replace("_", "/"))
            for line in (target / "metrics.jsonl").read_text().splitlines():
                r = json.loads(line)
                if "val_ens_acc_vote" not in r:
                    continue
                rows.append(dict(seed=rep["seed"], method=method, epoch=r["epoch"] + 1,
                                 train_loss=fmean(r["train_loss"]), val_member_acc=r["val_member_acc_mean"],
                                 val_ens_acc_vote=r["val_ens_acc_vote"]))
    return rows


def collect_curves(run_dirs: Sequence[Path], path: Path) -> None:
    """Write ``curves.csv`` from the run dirs; a (seed, method, epoch) seen twice must agree."""
    out: dict[tuple, dict] = {}
    for d in run_dirs:
        for r in curve_rows(d):
            key = (r["seed"], r["method"], r["epoch"])
            if key in out and out[key] != r:
                raise ValueError(f"{d}: curve row {key} disagrees with an earlier run")
            out[key] = r
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, CURVE_FIELDS)
        w.writeheader()
        w.writerows(out[k] for k in sorted(out))


def band(rows: list[dict], method: str, setting: str, attack: str, eps_list: Sequence[float],
         rule: str) -> tuple[list[float], list[float], int]:
    """Per ε: the mean accuracy and its 95 % CI half-width over seeds (0 for one seed); and the fewest seeds at any
    ε (0: the method has no rows)."""
    stats = [S.stat(list(S.per_seed(rows, method, setting, attack, e, rule).values())) for e in eps_list]
    return [s[0] for s in stats], [s[2] if s[3] > 1 else 0.0 for s in stats], min(s[3] for s in stats)


def _panel(ax, rows: list[dict], methods: Sequence[str], setting: str, attack: str, eps_list: Sequence[float],
           rule: str) -> None:
    for m in methods:
        mean, ci, n = band(rows, m, setting, attack, eps_list, rule)
        if n == 0:
            continue
        pct = [100 * v for v in mean]
        ax.plot(eps_list, pct, marker=".", color=COLOURS.get(m), label=f"{m} (n={n})")
        ax.fill_between(eps_list, [p - 100 * c for p, c in zip(pct, ci, strict=True)],
                        [p + 100 * c for p, c in zip(pct, ci, strict=True)], color=COLOURS.get(m), alpha=0.15)
    ax.set_title(attack)
    ax.set_xlabel("ε (L∞, inputs scaled to [0, 1])")
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)


def _save(plt, fig, title: str, dest: Path) -> Path:
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(dest, dpi=100)
    plt.close(fig)
    return dest


def attack_figure(plt, rows: list[dict], methods: Sequence[str], setting: str, attacks: Sequence[str],
                  eps_list: Sequence[float], rule: str, title: str, dest: Path) -> Path:
    """One panel per attack: accuracy % against ε, mean over seeds with its 95 % CI band."""
    fig, axes = plt.subplots(1, len(attacks), figsize=(3.3 * len(attacks), 3.4), sharey=True)
    for ax, attack in zip(axes, attacks, strict=True):
        _panel(ax, rows, methods, setting, attack, eps_list, rule)
    axes[0].set_ylabel(f"accuracy % ({rule} rule)")
    axes[-1].legend(fontsize=7)
    return _save(plt, fig, title, dest)


def diversity_figure(plt, path: Path, dest: Path) -> Path | None:
    """Mean CKA and gradient cosine per method; a bar is the mean over seeds, each dot one seed."""
    if not path.exists():
        return None
    with path.open() as f:
        div = [r for r in csv.DictReader(f) if r["layer"] == "all"]
    methods = [m for m in [*S.METHODS, *S.K_METHODS[1:]] if any(r["method"] == m for r in div)]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    for ax, (measure, label) in zip(axes, [("cka_mean", "mean linear CKA (member pairs)"),
                                            ("grad_cos", "mean gradient cosine (member pairs)")], strict=True):
        for i, m in enumerate(methods):
            vals = [float(r["value"]) for r in div if r["method"] == m and r["measure"] == measure]
            if vals:
                ax.bar(i, fmean(vals), color=COLOURS.get(m), alpha=0.6)
                ax.plot([i] * len(vals), vals, "k.", ms=4)
        ax.set_xticks(range(len(methods)), methods, rotation=30)
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, axis="y")
    return _save(plt, fig, "Fig. 2: member similarity (lower = more diverse)", dest)


def curves_figure(plt, path: Path, dest: Path) -> Path | None:
    """Validation accuracy (ensemble vote) and mean member training loss per epoch, mean over seeds ± 1 sd."""
    if not path.exists():
        return None
    by_key = {key: S.read_curves(path, key) for key in ("val_ens_acc_vote", "train_loss")}
    methods = [m for m in [*S.METHODS, *S.K_METHODS[1:], "surrogate"] if m in by_key["train_loss"]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, key, label in ((axes[0], "val_ens_acc_vote", "validation accuracy % (vote)"),
                           (axes[1], "train_loss", "training loss (objective's own scale)")):
        for m in methods:
            epochs = sorted(by_key[key][m])
            per_epoch = [by_key[key][m][e] for e in epochs]
            scale = 100 if key.startswith("val") else 1
            mean = [scale * fmean(v) for v in per_epoch]
            sd = [scale * (S.stat(v)[1] if len(v) > 1 else 0.0) for v in per_epoch]
            n = min(len(v) for v in per_epoch)
            ax.plot(epochs, mean, color=COLOURS.get(m), label=f"{m} (n={n})")
            ax.fill_between(epochs, [a - b for a, b in zip(mean, sd, strict=True)],
                            [a + b for a, b in zip(mean, sd, strict=True)], color=COLOURS.get(m), alpha=0.15)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylim(80, 100)
    axes[0].legend(fontsize=7)
    return _save(plt, fig, "learning curves of every target (mean over seeds ± 1 sd)", dest)


def draw(runs: Path, dest: Path, rule: str) -> list[Path]:
    """Every figure of the README into ``dest``; returns the files written."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    dest.mkdir(parents=True, exist_ok=True)
    rows = S.load(runs)
    written = [
        attack_figure(plt, rows, S.METHODS, "blackbox", S.ALL_ATTACKS, S.EPS_GRID, rule,
                      "Fig. 3: black-box transfer attacks (surrogate → target)", dest / "blackbox.png"),
        attack_figure(plt, rows, S.METHODS, "whitebox", S.ALL_ATTACKS, S.WB_EPS, rule,
                      "Fig. 4: white-box attacks on each ensemble", dest / "whitebox.png"),
        attack_figure(plt, rows, S.K_METHODS, "blackbox", S.ALL_ATTACKS, S.EPS_GRID, rule,
                      "Table 2 / Fig. 5: PARL with K = 7 (parl), 5, 3 restricted layers", dest / "k_ablation.png"),
    ]
    written += [p for p in (diversity_figure(plt, runs.with_name("diversity.csv"), dest / "diversity.png"),
                            curves_figure(plt, runs.with_name("curves.csv"), dest / "learning_curves.png")) if p]
    return written


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--collect", nargs="+", type=Path, metavar="RUN_DIR")
    p.add_argument("--runs", type=Path, default=HERE / "runs.csv")
    p.add_argument("--out", type=Path, default=HERE / "figures")
    p.add_argument("--rule", choices=["vote", "mean"], default="vote")
    a = p.parse_args(argv)
    if a.collect:
        collect_curves(a.collect, a.runs.with_name("curves.csv"))
    for path in draw(a.runs, a.out, a.rule):
        S._say(str(path))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
