"""``ldnn`` — learned-diversity neural networks (seed 004) on MNIST-1D, van der Pol and Hénon–Heiles.

One experiment, three tasks (``task:``), run as in the paper:

1. **Meta-learn** N_T activation sub-networks (one hidden layer of 100 neurons split into equal blocks of N_T types,
   sub-networks of 50 units evolved from a base sine) with Algorithm 1 on the training split
   (:func:`coterie.neurons.meta_learn`; ``method: exact`` or ``first_order``).
2. **Export** each learned type as an :class:`~coterie.neurons.InterpolatedActivation` (100 points on [−10, 10],
   linear) — the paper's Methods.
3. **Compare, with the same training**, fresh networks over ``eval.seeds`` initialisations: all type 1, all type 2,
   the mix (equal blocks), and fixed baselines (ReLU / tanh / sine). A seed gives every arm the same initial
   weights (the arms differ only in their activations), so arms are compared pairwise per seed.
4. **Analyse** on the validation split: participation ratio of the hidden layer (eq. 7) for every run, Hessian
   trace (Hutchinson) and SLQ spectral density with its near-zero fraction for the first ``analysis.hessian_seeds``
   seeds; box plots, the activation-evolution plot, ρ(A, r), spectra; for physics tasks, orbits and rollouts.

Validation and test splits are disjoint from training and from each other (physics tasks split by whole
trajectory). Nothing is selected on either: hyper-parameters are fixed in the config. The headline comparison is on
validation (as the paper's figures); test numbers are reported alongside.

For Hénon–Heiles ``models: [nn, hnn]`` runs the whole pipeline twice, for the conventional network (eq. 5) and the
Hamiltonian network (eq. 6), each meta-learning its own activations.

Artefacts (:mod:`coterie.experiments.artifacts.ldnn`): per model kind, ``ldnn-<task>-<kind>-meta.safetensors`` (the
meta-learned network), ``-activations.safetensors`` (the exported interpolation tables) and ``-arm-<arm>.safetensors``
(the arm's networks, one per seed). ``coterie.load(run_dir)`` returns ``{kind: {"meta": nn.Module, "activations":
[InterpolatedActivation], "arms": {arm: [nn.Module per seed]}}}`` in eval mode (``which``: final or best, the same).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict, Field
from torch import Tensor, nn

from coterie.experiments.artifacts import ldnn as artifacts
from coterie.experiments.registry import ExperimentConfig, register
from coterie.experiments.rundir import RunDir
from coterie.models.base import capture_features
from coterie.neurons import (
    InterpolatedActivation,
    LearnedSpec,
    MetaConfig,
    export_activation,
    learned_activations,
    meta_learn,
    plots,
)
from coterie.utils import progress_bar, resolve_device, seed_everything

log = logging.getLogger(__name__)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MetaSettings(_Section):
    """Algorithm 1 settings (see :class:`coterie.neurons.MetaConfig`)."""

    method: Literal["exact", "first_order"] = "exact"
    outer_steps: int = 100
    inner_steps: int = 20
    inner_lr: float = 0.05
    outer_lr: float = 3e-3
    outer_optimizer: Literal["adam", "sgd"] = "adam"
    truncation: int | None = None
    reinit_inner: bool = False
    batch_size: int = 128
    clip_meta_grad: float | None = 1.0
    snapshots: int = 10


class EvalSettings(_Section):
    """The common training of every arm: Adam for ``steps`` minibatch steps, over ``seeds`` initialisations."""

    seeds: int = 20
    steps: int = 2000
    lr: float = 1e-2
    batch_size: int = 100
    baselines: list[str] = Field(default_factory=lambda: ["relu", "tanh", "sin"])


class AnalysisSettings(_Section):
    """Participation ratio on every run; Hessian statistics on the first ``hessian_seeds`` seeds."""

    hessian_seeds: int = 3
    hessian_probes: int = 30
    slq_iterations: int = 40
    slq_runs: int = 1
    hessian_samples: int = 500
    near_zero_tol: float = 1e-3
    rollout_steps: int = 400
    rollout_dt: float = 0.05


class DataSettings(_Section):
    """Sizes of the data; ``val_fraction`` / ``test_fraction`` of samples (MNIST-1D) or of trajectories (physics)."""

    num_samples: int = 5000
    val_fraction: float = 0.1
    test_fraction: float = 0.2
    trajectories: int = 30
    t_end: float = 20.0
    dt: float = 0.1
    energies: list[float] = Field(default_factory=lambda: [0.04, 0.08, 0.12, 0.16])
    trajectories_per_energy: int = 8


class LdnnConfig(ExperimentConfig):
    """Configuration of ``ldnn`` (seed 004)."""

    experiment: Literal["ldnn"] = "ldnn"
    task: Literal["mnist1d", "vanderpol", "henonheiles"] = "mnist1d"
    models: list[Literal["nn", "hnn"]] = Field(default_factory=lambda: ["nn"])
    hidden: list[int] = Field(default_factory=lambda: [100])
    num_types: int = 2
    base: Literal["sin", "tanh", "relu", "elu", "zero"] = "sin"
    sub_hidden: int = 50
    scale: float = 1.0
    export_points: int = 100
    export_range: float = 10.0
    export_kind: Literal["linear", "cubic"] = "linear"
    meta: MetaSettings = Field(default_factory=MetaSettings)
    eval: EvalSettings = Field(default_factory=EvalSettings)
    analysis: AnalysisSettings = Field(default_factory=AnalysisSettings)
    data: DataSettings = Field(default_factory=DataSettings)


# --------------------------------------------------------------------------------------------------------- tasks


class _Task:
    """Data, model factory, loss and validation metric of one task."""

    def __init__(self, cfg: LdnnConfig, device: torch.device) -> None:
        self.cfg = cfg
        self.device = device
        d = cfg.data
        self.traj = None
        if cfg.task == "mnist1d":
            from coterie.data import load_splits

            self.splits = load_splits("mnist1d", split="random", val_fraction=d.val_fraction,
                                      test_fraction=d.test_fraction, seed=cfg.seed, num_samples=d.num_samples)
            self.classification = True
        else:
            from coterie.data.physics import simulate_henon_heiles, simulate_vanderpol

            if cfg.task == "vanderpol":
                self.traj = simulate_vanderpol(d.trajectories, d.t_end, d.dt, seed=cfg.seed)
            else:
                self.traj = simulate_henon_heiles(d.energies, d.trajectories_per_energy, d.t_end, d.dt, seed=cfg.seed)
            self.splits = self.traj.split(d.val_fraction, d.test_fraction, cfg.seed)
            self.classification = False
        self.train = tuple(t.to(device) for t in self.splits.train.tensors())
        self.val = tuple(t.to(device) for t in self.splits.val.tensors())
        self.test = tuple(t.to(device) for t in self.splits.test.tensors())
        x = self.train[0]
        self.mean = x.mean(0).tolist()
        self.std = x.std(0).clamp_min(1e-6).tolist()
        self.out_scale = self.train[1].std(0).clamp_min(1e-6).tolist() if not self.classification else None

    @property
    def metric_name(self) -> str:
        return "accuracy" if self.classification else "mse"

    @property
    def higher_is_better(self) -> bool:
        return self.classification

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        """Cross-entropy, or the summed squared derivative error averaged over samples (eqs. 5 and 6)."""
        if self.classification:
            return nn.functional.cross_entropy(out, y)
        return ((out - y) ** 2).sum(dim=1).mean()

    @property
    def dims(self) -> dict[str, Any]:
        """The data-derived sizes :func:`coterie.experiments.artifacts.ldnn.build_network` needs."""
        if self.cfg.task == "mnist1d":
            return {"in": 40, "out": 10}
        return {"dim": self.train[0].shape[1] // 2, "mean": self.mean, "std": self.std, "out_scale": self.out_scale}

    def build(self, kind: str, activation: Any) -> nn.Module:
        return artifacts.build_network(self.cfg.task, kind, self.cfg.hidden, activation, self.dims)

    def evaluate(self, model: nn.Module, data: tuple[Tensor, Tensor]) -> float:
        x, y = data
        model.eval()
        with torch.no_grad():
            out = torch.cat([model(xb) for xb in x.split(2048)])
        if self.classification:
            return float((out.argmax(1) == y).float().mean())
        return float(self.loss(out, y))


def _train(model: nn.Module, task: _Task, steps: int, lr: float, batch_size: int, seed: int) -> float:
    """Adam on minibatches for one model; returns the mean training loss over the last 10% of steps."""
    from coterie.neurons import batch_stream

    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=lr)
    stream = batch_stream(*task.train, batch_size, torch.Generator().manual_seed(seed))
    model.train()
    tail = []
    for step in range(steps):
        xb, yb = next(stream)
        loss = task.loss(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step >= steps - max(1, steps // 10):
            tail.append(float(loss.detach()))
    return float(np.mean(tail))


class SeedStack(nn.Module):
    """S same-architecture networks (one per seed) trained at once with batched matrix products.

    The arms of this experiment train many small networks that differ only in their initial weights; on a CPU a
    Python loop over them is dominated by per-operation overhead. The stack copies each network's linear layers into
    (S, out, in) / (S, 1, out) parameters, runs the shared parameter-free activations on (S, B, width) tensors, and
    writes the trained weights back with :meth:`unstack`. Adam is elementwise and the loss is the sum of the
    per-network losses, so each network follows exactly the trajectory it would follow alone (the integration test
    checks this against :func:`_train`). Supports ``DiverseMLP``, ``DerivativeNet`` and non-separable
    ``HamiltonianNet`` bodies whose activations have no parameters.

    Shapes: forward (S, B, D) → (S, B, out).
    """

    def __init__(self, models: list[nn.Module]) -> None:
        super().__init__()
        from coterie.models.hnn import DerivativeNet, HamiltonianNet

        first = models[0]
        if any(True for m in models for n, _ in m.named_parameters() if ".act" in n):
            raise ValueError("SeedStack needs parameter-free activations (export learned ones first)")
        self.kind = "hnn" if isinstance(first, HamiltonianNet) else "nn"
        if isinstance(first, HamiltonianNet) and first.separable:
            raise ValueError("SeedStack does not support separable Hamiltonian networks")
        self.layers: list[tuple[str, nn.Module]] = list(first.body.named_children())
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for name, mod in self.layers:
            if isinstance(mod, nn.Linear):
                self.weights.append(nn.Parameter(torch.stack([getattr(m.body, name).weight.detach() for m in models])))
                self.biases.append(
                    nn.Parameter(torch.stack([getattr(m.body, name).bias.detach()[None] for m in models]))
                )
        self.register_buffer("mean", first.input_mean.detach().clone())
        self.register_buffer("std", first.input_std.detach().clone())
        scale = first.output_scale.detach().clone() if isinstance(first, DerivativeNet) else torch.ones(1)
        self.register_buffer("scale", scale)
        self.dim = getattr(first, "dim", 0)

    def body(self, h: Tensor) -> Tensor:
        k = 0
        for _, mod in self.layers:
            if isinstance(mod, nn.Linear):
                h = torch.baddbmm(self.biases[k], h, self.weights[k].transpose(1, 2))
                k += 1
            else:
                h = mod(h)
        return h

    def forward(self, x: Tensor) -> Tensor:
        if self.kind == "hnn":
            keep_graph = torch.is_grad_enabled()
            with torch.enable_grad():
                z = x.detach().requires_grad_(True)
                energy = self.body((z - self.mean) / self.std)
                (dh,) = torch.autograd.grad(energy.sum(), z, create_graph=keep_graph)
            return torch.cat([dh[..., self.dim :], -dh[..., : self.dim]], dim=-1)
        return self.body((x - self.mean) / self.std) * self.scale

    @torch.no_grad()
    def unstack(self, models: list[nn.Module]) -> None:
        """Write the trained weights back into ``models`` (in order)."""
        k = 0
        for name, mod in self.layers:
            if isinstance(mod, nn.Linear):
                for s, m in enumerate(models):
                    getattr(m.body, name).weight.copy_(self.weights[k][s])
                    getattr(m.body, name).bias.copy_(self.biases[k][s, 0])
                k += 1


def _train_stacked(
    models: list[nn.Module], task: _Task, steps: int, lr: float, batch_size: int, seeds: list[int]
) -> list[float]:
    """Train ``models`` as a :class:`SeedStack`, model s on the minibatch order of ``seeds[s]`` (as :func:`_train`).

    Returns each model's mean training loss over the last 10% of steps; the models hold the trained weights.
    """
    from coterie.neurons import batch_stream

    stack = SeedStack(models).to(task.device)
    x, y = task.train
    n = x.shape[0]
    ar = torch.arange(n, device=x.device)
    streams = [batch_stream(ar, ar, batch_size, torch.Generator().manual_seed(s)) for s in seeds]
    opt = torch.optim.Adam(stack.parameters(), lr=lr)
    tail = []
    S = len(models)
    for step in range(steps):
        idx = torch.stack([next(st)[0] for st in streams])  # (S, B)
        out = stack(x[idx])
        yb = y[idx]
        if task.classification:
            per = nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]), yb.reshape(-1), reduction="none")
            losses = per.view(S, -1).mean(1)
        else:
            losses = ((out - yb) ** 2).sum(-1).mean(1)
        opt.zero_grad(set_to_none=True)
        losses.sum().backward()
        opt.step()
        if step >= steps - max(1, steps // 10):
            tail.append(losses.detach())
    stack.unstack(models)
    return torch.stack(tail).mean(0).tolist()


# ------------------------------------------------------------------------------------------------------ analysis


def _compare(values: dict[str, list[float]], higher: bool, mix: str, pures: list[str]) -> dict[str, Any]:
    """Mean difference, paired wins and a Wilcoxon signed-rank p-value of ``mix`` against each pure arm."""
    from scipy.stats import wilcoxon

    out: dict[str, Any] = {}
    m = np.asarray(values[mix])
    for p in pures:
        q = np.asarray(values[p])
        diff = (m - q) if higher else (q - m)  # > 0 where the mix is better
        try:
            pval = float(wilcoxon(diff).pvalue) if np.any(diff != 0) and diff.size >= 2 else float("nan")
        except ValueError:
            pval = float("nan")
        out[p] = {
            "mean_advantage": float(diff.mean()),
            "mix_wins": int((diff > 0).sum()),
            "ties": int((diff == 0).sum()),
            "seeds": int(diff.size),
            "wilcoxon_p": pval,
        }
    out["mix_better_on_average_than_each_pure"] = all(out[p]["mean_advantage"] > 0 for p in pures)
    return out


def _summary(v: list[float]) -> dict[str, float]:
    a = np.asarray(v, dtype=float)
    a = a[np.isfinite(a)]
    if a.size == 0:
        return {"mean": float("nan"), "std": float("nan"), "median": float("nan"), "n": 0}
    return {
        "mean": float(a.mean()),
        "std": float(a.std(ddof=1)) if a.size > 1 else 0.0,
        "median": float(np.median(a)),
        "min": float(a.min()),
        "max": float(a.max()),
        "n": int(a.size),
    }


def _run_model(cfg: LdnnConfig, task: _Task, kind: str, rundir: RunDir) -> dict[str, Any]:
    """Meta-learn, export, compare arms and analyse for one model kind (``nn`` or ``hnn``)."""
    from coterie.metrics import hessian_spectral_density, hessian_trace, participation_ratio

    tag = f"{cfg.task}-{kind}"
    seed_everything(cfg.seed)
    spec = LearnedSpec(cfg.num_types, cfg.base, cfg.sub_hidden, cfg.scale)
    meta_model = task.build(kind, spec).to(task.device)
    m = cfg.meta
    meta_cfg = MetaConfig(
        method=m.method,
        outer_steps=m.outer_steps,
        inner_steps=m.inner_steps,
        inner_lr=m.inner_lr,
        outer_lr=m.outer_lr,
        outer_optimizer=m.outer_optimizer,
        truncation=m.truncation,
        reinit_inner=m.reinit_inner,
        batch_size=m.batch_size,
        clip_meta_grad=m.clip_meta_grad,
    )
    R = cfg.export_range
    grid = torch.linspace(-R, R, 200)
    with progress_bar() as bar:
        t_meta = bar.add_task(f"{tag} meta-learning", total=m.outer_steps)

        def on_step(rec: dict[str, float]) -> None:
            rundir.log_metrics({"phase": "meta", "model": kind, **rec})
            bar.update(t_meta, advance=1, description=f"{tag} meta L_I {rec['inner_loss']:.4g}")

        meta = meta_learn(
            meta_model,
            *task.train,
            task.loss,
            meta_cfg,
            seed=cfg.seed,
            snapshot_every=max(1, m.outer_steps // max(1, m.snapshots)),
            snapshot_grid=grid,
            on_step=on_step,
        )
    rundir.save_figure(
        plots.activation_evolution(grid, meta.snapshots, f"{tag}: learned activations (violet → red: outer steps)"),
        f"{tag}-activation-evolution.png",
    )
    meta_val = task.evaluate(meta_model, task.val)

    # export the first hidden layer's learned types as interpolated activations
    acts = list(learned_activations(meta_model).values())[: cfg.num_types]
    exported: list[InterpolatedActivation] = [
        export_activation(a, cfg.export_points, -R, R, cfg.export_kind) for a in acts
    ]
    with torch.no_grad():
        export_err = max(float((e(grid) - a.cpu()(grid)).abs().max()) for e, a in zip(exported, acts))
    artifacts.save_learned(rundir, cfg, kind, task.dims, meta_model, exported)
    arms: dict[str, Any] = {f"type{k + 1}": [e] for k, e in enumerate(exported)}
    arms["mix"] = list(exported)
    pures = [f"type{k + 1}" for k in range(cfg.num_types)]
    for b in cfg.eval.baselines:
        arms[b] = b

    ev = cfg.eval
    an = cfg.analysis
    metric: dict[str, list[float]] = {a: [] for a in arms}
    test_metric: dict[str, list[float]] = {a: [] for a in arms}
    ratio: dict[str, list[float]] = {a: [] for a in arms}
    htrace: dict[str, list[float]] = {a: [] for a in arms}
    near_zero: dict[str, list[float]] = {a: [] for a in arms}
    densities: dict[str, Any] = {}
    width = cfg.hidden[0]
    hx, hy = (t[: an.hessian_samples] for t in task.val)
    trained_mix: nn.Module | None = None
    with progress_bar() as bar:
        t_eval = bar.add_task(f"{tag} arms × seeds", total=ev.seeds * len(arms))
        init_seeds = [cfg.seed * 100_003 + 1000 + s for s in range(ev.seeds)]
        for arm, act in arms.items():
            models = []
            for sd_ in init_seeds:
                seed_everything(sd_)  # seed s: the same initial weights in every arm
                models.append(task.build(kind, act).to(task.device))
            train_losses = _train_stacked(models, task, ev.steps, ev.lr, ev.batch_size, init_seeds)
            for s, model in enumerate(models):
                val = task.evaluate(model, task.val)
                test = task.evaluate(model, task.test)
                _, feats = capture_features(model, task.val[0][:2000], ["body.act1"])
                pr = float(participation_ratio(feats["body.act1"]))
                rec: dict[str, Any] = {
                    "phase": "eval",
                    "model": kind,
                    "arm": arm,
                    "seed": s,
                    "train_loss": train_losses[s],
                    f"val_{task.metric_name}": val,
                    f"test_{task.metric_name}": test,
                    "participation_ratio": pr,
                }
                if s < an.hessian_seeds:
                    model.eval()
                    tr = hessian_trace(model, task.loss, (hx, hy), probes=an.hessian_probes, seed=s)
                    sd = hessian_spectral_density(model, task.loss, (hx, hy), an.slq_iterations, an.slq_runs, seed=s)
                    nz = sd.fraction_near_zero(an.near_zero_tol)
                    htrace[arm].append(tr)
                    near_zero[arm].append(nz)
                    rec.update(
                        hessian_trace=tr, near_zero_fraction=nz, eig_min=sd.eig_range[0], eig_max=sd.eig_range[1]
                    )
                    if s == 0:
                        densities[arm] = sd
                metric[arm].append(val)
                test_metric[arm].append(test)
                ratio[arm].append(pr / width)
                rundir.log_metrics(rec)
                if arm == "mix" and s == 0:
                    trained_mix = model
            artifacts.save_arm(rundir, cfg, kind, task.dims, arm, act, exported, models)
            bar.update(t_eval, advance=ev.seeds, description=f"{tag} {arm} mean val {np.mean(metric[arm]):.4g}")

    mname = task.metric_name
    higher = task.higher_is_better
    rundir.save_figure(
        plots.arm_boxplot(
            metric, f"validation {mname}", f"{tag}: validation {mname} over {ev.seeds} seeds", log=not higher
        ),
        f"{tag}-boxplot.png",
    )
    rundir.save_figure(
        plots.metric_vs_participation(metric, ratio, f"validation {mname}", f"{tag}: ρ({mname}, r)"),
        f"{tag}-participation.png",
    )
    if densities:
        rundir.save_figure(
            plots.spectral_densities(densities, f"{tag}: Hessian eigenvalue density (SLQ, seed 0)"),
            f"{tag}-hessian-esd.png",
        )
    out: dict[str, Any] = {
        "metric": mname,
        "higher_is_better": higher,
        "meta": {
            "first_inner_loss": meta.history[0]["inner_loss"],
            "last_inner_loss": meta.history[-1]["inner_loss"],
            "meta_network_val": meta_val,
            "export_max_abs_error_on_range": export_err,
        },
        "val": {a: _summary(v) for a, v in metric.items()},
        "test": {a: _summary(v) for a, v in test_metric.items()},
        "participation_r": {a: _summary(v) for a, v in ratio.items()},
        "hessian_trace": {a: _summary(v) for a, v in htrace.items()},
        "near_zero_fraction": {a: _summary(v) for a, v in near_zero.items()},
        "mix_vs_pure_val": _compare(metric, higher, "mix", pures),
        "mix_vs_pure_test": _compare(test_metric, higher, "mix", pures),
        "mix_vs_baselines_val": _compare(metric, higher, "mix", list(cfg.eval.baselines)) if cfg.eval.baselines else {},
        "per_seed_val": metric,
    }
    if task.traj is not None and trained_mix is not None:
        out["rollout"] = _rollouts(cfg, task, kind, trained_mix, rundir)
    return out


def _rollouts(cfg: LdnnConfig, task: _Task, kind: str, model: nn.Module, rundir: RunDir) -> dict[str, Any]:
    """Euler and leapfrog rollouts of the trained mixed network from the first validation orbit's start."""
    from coterie.data.physics import henon_heiles_hamiltonian
    from coterie.models.hnn import rollout

    an = cfg.analysis
    x0 = task.val[0][:1]
    model.eval()
    series: dict[str, np.ndarray] = {}
    out: dict[str, Any] = {}
    for method in ("euler", "leapfrog"):
        traj = rollout(model, x0, an.rollout_dt, an.rollout_steps, method)[:, 0]
        if cfg.task == "henonheiles":
            e = henon_heiles_hamiltonian(traj.cpu()).numpy()
            series[f"true H, {method}"] = e
            out[f"true_energy_max_abs_drift_{method}"] = float(np.abs(e - e[0]).max())
        if kind == "hnn":
            with torch.no_grad():
                h = model.hamiltonian(traj).cpu().numpy()  # type: ignore[operator]
            series[f"learned H, {method}"] = h
            out[f"learned_energy_max_abs_drift_{method}"] = float(np.abs(h - h[0]).max())
    if series:
        rundir.save_figure(
            plots.energy_drift(series, an.rollout_dt, title=f"{cfg.task}-{kind} (mix): energy along rollouts"),
            f"{cfg.task}-{kind}-rollout-energy.png",
        )
    return out


def _orbit_figure(cfg: LdnnConfig, task: _Task, rundir: RunDir) -> None:
    traj = task.traj
    assert traj is not None
    if cfg.task == "vanderpol":
        fig = plots.orbits([traj.orbit(0).numpy()], ["van der Pol μ = 2.7"], ("q", "q̇"))
    else:
        ks = [int(torch.nonzero(traj.energy == e)[0]) for e in sorted(set(traj.energy.tolist()))]
        fig = plots.orbits(
            [traj.orbit(k).numpy()[:, :2] for k in ks], [f"E = {float(traj.energy[k]):.3g}" for k in ks], ("x", "y")
        )
    rundir.save_figure(fig, f"{cfg.task}-orbits.png")


@register(
    "ldnn",
    LdnnConfig,
    "learned-diversity neurons: meta-learned activations vs pure types and baselines; "
    "load: {kind: {meta, activations, arms: {arm: [net per seed]}}}",
    load=artifacts.load,
)
def run(cfg: LdnnConfig, rundir: RunDir) -> dict[str, Any]:
    """Meta-learn N_T activation types, export them, and compare pure / mixed / baseline networks over seeds."""
    device = resolve_device(cfg.device)
    seed_everything(cfg.seed)
    task = _Task(cfg, device)
    log.info(
        "ldnn %s: train %d, val %d, test %d",
        cfg.task,
        len(task.splits.train),
        len(task.splits.val),
        len(task.splits.test),
    )
    if task.traj is not None:
        _orbit_figure(cfg, task, rundir)
    if cfg.task != "henonheiles" and "hnn" in cfg.models:
        raise ValueError("the Hamiltonian network needs a Hamiltonian system: use task henonheiles")
    results: dict[str, Any] = {
        "task": cfg.task,
        "sizes": {"train": len(task.splits.train), "val": len(task.splits.val), "test": len(task.splits.test)},
    }
    for kind in cfg.models:
        results[kind] = _run_model(cfg, task, kind, rundir)
    return results
