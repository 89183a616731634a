"""The Ensemble: N members whose outputs are stacked member-first, (N, B, C)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from coterie import models
from coterie.ensemble import executors
from coterie.metrics.combine import Rule, combine


class Ensemble(nn.Module):
    """N networks evaluated on the same input; ``forward`` returns logits of shape (N, B, C).

    Members may differ in architecture (they then run in a loop). Identical members may run vectorised; the
    executor is chosen automatically (:func:`coterie.ensemble.executors.choose`, and a one-off timing probe on the
    first training batch where no rule decides, :mod:`coterie.ensemble.probe`) unless ``executor`` names one, and
    every executor returns the same numbers as the loop.

    Args:
        members: the member networks (each maps (B, ...) to (B, C)).
        executor: ``auto``, ``loop``, ``fused`` (identical MLP or LeNet-5 members) or ``vmap`` (identical members
            without BatchNorm).
        compile: run the executor through ``torch.compile``; falls back to eager execution (with a warning) when
            compilation fails (:class:`coterie.ensemble.compiled.CompiledForward`).

    Attributes:
        sharding: set by :func:`coterie.training.distributed.attach` in member-parallel runs: this process then runs
            only its own members and all-gathers the others' outputs; ``None`` otherwise.

    Example::

        ens = Ensemble.from_factory("mlp", 5, in_features=40, num_classes=10, seed=0)
        logits = ens(x)                       # (5, B, 10)
        p = ens.predict_proba(x, rule="mean")  # (B, 10)
    """

    def __init__(
        self, members: Iterable[nn.Module], executor: executors.ExecutorName = "auto", compile: bool = False
    ) -> None:
        super().__init__()
        self.members = nn.ModuleList(members)
        if len(self.members) == 0:
            raise ValueError("an ensemble needs at least one member")
        if executor not in executors.EXECUTORS:
            raise ValueError(f"unknown executor {executor!r}; choose from {executors.EXECUTORS}")
        self.executor = executor
        self.compile = compile
        self.sharding: Any = None
        self._probed: str | None = None
        self._compiled: dict[str, Any] = {}
        self._plans = executors.PlanCache()  # the structural answers for the current member trees

    @classmethod
    def from_factory(
        cls,
        name: str,
        n: int,
        *,
        seed: int | None = None,
        executor: executors.ExecutorName = "auto",
        compile: bool = False,
        **kwargs: object,
    ) -> Ensemble:
        """Build ``n`` independently initialised members with ``coterie.models.create(name, **kwargs)``.

        With ``seed``, member ``i`` is initialised from ``torch.manual_seed(seed + i)`` inside a forked RNG, so the
        result does not depend on (or disturb) the global random state.
        """
        if n < 1:
            raise ValueError(f"ensemble size must be >= 1, got {n}")
        members = []
        for i in range(n):
            if seed is None:
                members.append(models.create(name, **kwargs))
            else:
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed + i)
                    members.append(models.create(name, **kwargs))
        return cls(members, executor=executor, compile=compile)

    def __len__(self) -> int:
        return len(self.members)

    @property
    def resolved_executor(self) -> str:
        """The executor that runs now (``auto`` resolved for the current members and device)."""
        if self.executor != "auto":
            return self.executor
        if self._probed is not None:
            return self._probed
        device = next(self.parameters()).device
        return executors.choose(list(self.members), device)

    def forward(self, x: Tensor) -> Tensor:
        """Member logits (N, B, C) for input x (B, ...)."""
        if self.sharding is not None:
            return self.sharding.forward(self.run_members, list(self.members), x)
        return self.run_members(list(self.members), x)

    def forward_per_member(self, x: Tensor) -> Tensor:
        """Member logits (N, B, C) when member i has its own input x[i]: x (N, B, ...). Members run one after
        another, each exactly as a one-member ensemble runs it (``data_order: per_member``)."""
        if x.shape[0] != len(self.members):
            raise ValueError(f"per-member input needs {len(self.members)} batches on axis 0, got {tuple(x.shape)}")
        if self.sharding is not None:
            raise ValueError("per-member inputs are not supported in member-parallel (distributed) training")
        return torch.cat([executors.loop_forward([m], x[i]) for i, m in enumerate(self.members)])

    def run_members(self, members: Sequence[nn.Module], x: Tensor) -> Tensor:
        """Outputs (n, B, C) of ``members`` (all or a shard of this ensemble's) under the resolved executor."""
        plan = self._plans.get(members, x.device)  # every structural answer, re-derived only when a tree changed
        if self.executor != "auto":
            name = self.executor
        elif len(members) == len(self.members):
            if self._probed is None and torch.is_grad_enabled() and plan.in_doubt:
                from coterie.ensemble.probe import probe

                self._probed = probe(members, x)
            name = self._probed if self._probed is not None else plan.choice
        else:
            name = plan.choice
        if name not in plan.runnable:
            raise ValueError(f"executor {name!r} cannot run these members; use 'loop'")
        fn = executors.FORWARDS[name]
        if name == "fused":
            fn = functools.partial(executors.fused_forward, impl=plan.fused)
        if self.compile:
            from coterie.ensemble.compiled import CompiledForward

            key = f"{name}/{len(members)}"
            if key not in self._compiled:
                if name == "fused":  # settle the structural and data-dependent branches outside the compiled graph
                    impl = executors.fused_implementation(members)
                    fn = functools.partial(impl, shared_stats=executors.shared_input_stats(members))
                self._compiled[key] = CompiledForward(fn)
            fn = self._compiled[key]
        return fn(members, x)

    @torch.no_grad()
    def predict_proba(self, x: Tensor, rule: Rule = "mean") -> Tensor:
        """Ensemble probabilities (B, C) under ``rule`` (``mean`` = seed 000 eq. 4, ``geometric``, ``vote``,
        ``logit_mean``), for inference: no autograd graph (differentiate ``combine(ensemble(x), rule)`` instead)."""
        return combine(self(x), rule)

    def forward_with_features(self, x: Tensor, names: Sequence[str]) -> tuple[Tensor, dict[str, Tensor]]:
        """Member logits (N, B, C) and, per layer name, the members' activations stacked to (N, B, ...)."""
        outs, feats = [], {n: [] for n in names}
        for m in self.members:
            out, f = models.capture_features(m, x, names)
            outs.append(out)
            for n in names:
                feats[n].append(f[n])
        return torch.stack(outs), {n: torch.stack(v) for n, v in feats.items()}
