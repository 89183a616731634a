"""Member-parallel training over ``torch.distributed``: the members are sharded across K processes.

Each process holds the whole ensemble (built identically from the seed) but runs the forward and backward passes of
its own contiguous shard of members only. Every step the shards' logits are all-gathered into the full (N, B, C)
tensor, so every process evaluates the objective on all N members — for co-learning (seed 000 eq. 1) this is the
all-gather of the member probabilities the coupling needs — and the losses (N,) are identical on every process.
The gather's backward hands each process the gradient of its own slice; because every process differentiates the
same total loss, that slice is the exact gradient its members receive in a single-process run. Each process's
optimiser therefore updates only its own members (the others never get gradients), and the result equals the
single-process run up to floating-point summation order (bit-identical with the ``loop`` executor).

Members' parameters, buffers and optimiser state are broadcast from their owners whenever they must be complete on
every process: before a checkpoint is written and at the end of training. After resuming, rank 0's checkpoint is
broadcast to everyone. Only rank 0 writes metrics and checkpoints.

Backends: ``gloo`` on CPU, ``nccl`` on CUDA (process ``LOCAL_RANK`` uses ``cuda:LOCAL_RANK``). Processes are
started by torchrun (``torch.distributed.run``; ``coterie run CONFIG --nproc K`` calls it, see
:mod:`coterie.experiments.parallel`), which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT`` and stops the other workers when one fails; collectives time out after ``COTERIE_DIST_TIMEOUT``
seconds (default 300), so nothing waits forever. This module holds only the process-group and sharding mechanics.

Scope: objectives that reach the members through ``ensemble(x)`` are sharded. Objectives that call members
directly (input gradients, intermediate features: PARL, DVERGE) still give the right numbers — every process then
computes and updates every member identically — but gain no speed.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 300.0


def shard_bounds(n: int, world_size: int, rank: int) -> tuple[int, int]:
    """Members ``[start, stop)`` owned by ``rank`` when ``n`` members are split as evenly as possible.

    The first ``n % world_size`` ranks own one member more. With more processes than members some ranks own none.
    """
    base, extra = divmod(n, world_size)
    start = rank * base + min(rank, extra)
    return start, start + base + (1 if rank < extra else 0)


def env_world_size() -> int:
    """``WORLD_SIZE`` from the environment (1 when unset)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def env_rank() -> int:
    """``RANK`` from the environment (0 when unset)."""
    return int(os.environ.get("RANK", "0"))


def check_world_size(world: int, members: int, what: str | None = None) -> None:
    """Refuse more processes than members (each process trains at least one); ``what`` names the processes in the
    message (default ``"<world> processes"``).

    Raises:
        ValueError: ``world > members``.
    """
    if world > members:
        raise ValueError(
            f"{what or f'{world} processes'} for {members} members: use at most one process per member "
            f"({members} or fewer)"
        )


def is_active() -> bool:
    """True inside an initialised process group of more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def timeout_seconds() -> float:
    """Collective timeout: ``COTERIE_DIST_TIMEOUT`` seconds, default 300."""
    return float(os.environ.get("COTERIE_DIST_TIMEOUT", DEFAULT_TIMEOUT_S))


def init_from_env(device: str = "auto") -> torch.device | None:
    """Join the process group described by the environment when ``WORLD_SIZE`` > 1.

    Picks ``nccl`` when the run uses CUDA (and sets ``cuda:LOCAL_RANK``), ``gloo`` otherwise. Returns the device
    this process should use, or ``None`` when the environment describes no multi-process run.
    """
    if env_world_size() <= 1:
        return None
    use_cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        dev = torch.device("cuda", local)
    else:
        dev = torch.device("cpu")
    if not dist.is_initialized():
        # torch.distributed.nn's functions take ``group=group.WORLD`` as a default argument; imported after the group
        # exists (torch imports it lazily, e.g. through torch.distributed._shard when a state dict is taken) they
        # would hold the group past destroy_process_group, so gloo's worker threads outlive it and abort the
        # process at interpreter exit ("terminate called without an active exception"). Import it first.
        importlib.import_module("torch.distributed.nn")

        backend = "nccl" if use_cuda else "gloo"
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_seconds()))
        log.info("rank %d/%d joined (%s)", dist.get_rank(), dist.get_world_size(), backend)
    return dev


def shutdown(wait_for_peers: bool = True) -> None:
    """Leave the process group (no-op when none).

    With ``wait_for_peers`` (a rank that finished its work) after a barrier, so that no rank tears its group down while
    a peer is still in a collective; a rank leaving on an error passes ``False`` (its peers may never reach the
    barrier; torchrun stops them).
    """
    if dist.is_available() and dist.is_initialized():
        if wait_for_peers:
            dist.barrier()
        dist.destroy_process_group()


class _GatherMembers(torch.autograd.Function):
    """(n_local, B, C) on every rank → (N, B, C); backward returns this rank's slice of the gradient."""

    @staticmethod
    def forward(ctx: Any, local: Tensor, sharding: MemberSharding) -> Tensor:  # type: ignore[override]
        ctx.bounds = sharding.bounds
        return sharding.all_gather_members(local.detach())

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        start, stop = ctx.bounds
        return grad[start:stop], None


@dataclass
class MemberSharding:
    """Which members this process runs; attached to an :class:`~coterie.Ensemble` as ``ensemble.sharding``.

    Attributes:
        n_members: N, the ensemble size.
        rank, world_size: this process and the number of processes.
    """

    n_members: int
    rank: int
    world_size: int

    @property
    def bounds(self) -> tuple[int, int]:
        """This rank's members ``[start, stop)``."""
        return shard_bounds(self.n_members, self.world_size, self.rank)

    def owner(self, member: int) -> int:
        """The rank that runs ``member``."""
        for r in range(self.world_size):
            start, stop = shard_bounds(self.n_members, self.world_size, r)
            if start <= member < stop:
                return r
        raise IndexError(f"member {member} out of range for {self.n_members} members")

    def all_gather_members(self, local: Tensor) -> Tensor:
        """Concatenate every rank's (n_r, B, ...) member outputs into (N, B, ...), in member order."""
        sizes = [shard_bounds(self.n_members, self.world_size, r) for r in range(self.world_size)]
        width = max(stop - start for start, stop in sizes)
        padded = local.new_zeros((width, *local.shape[1:]))
        padded[: local.shape[0]] = local
        parts = [torch.empty_like(padded) for _ in range(self.world_size)]
        dist.all_gather(parts, padded.contiguous())
        return torch.cat([p[: stop - start] for p, (start, stop) in zip(parts, sizes, strict=True)])

    def forward(self, run_members: Any, members: Sequence[nn.Module], x: Tensor) -> Tensor:
        """Run this rank's members with ``run_members(members, x)`` and gather all N outputs: (N, B, C)."""
        start, stop = self.bounds
        return _GatherMembers.apply(run_members(list(members[start:stop]), x), self)

    # ------------------------------------------------------------------ state
    def sync_members(self, members: Sequence[nn.Module], src: int | None = None) -> None:
        """Broadcast every member's parameters and buffers from its owner (or, with ``src``, from that rank)."""
        with torch.no_grad():
            for i, m in enumerate(members):
                root = self.owner(i) if src is None else src
                for t in list(m.parameters()) + list(m.buffers()):
                    buf = t.detach().contiguous()
                    dist.broadcast(buf, root)
                    if buf.data_ptr() != t.data_ptr():
                        t.copy_(buf)

    def sync_optimizer_state(
        self, optimizer: torch.optim.Optimizer, members: Sequence[nn.Module], src: int | None = None
    ) -> None:
        """Broadcast each member's optimiser state (momentum, Adam moments) from its owner (or from ``src``)."""
        for i, m in enumerate(members):
            root = self.owner(i) if src is None else src
            params = list(m.parameters())
            payload: list[Any] = [None]
            if self.rank == root:
                payload[0] = [
                    {k: (v.detach().cpu() if torch.is_tensor(v) else v) for k, v in optimizer.state[p].items()}
                    if p in optimizer.state
                    else None
                    for p in params
                ]
            dist.broadcast_object_list(payload, root)
            if self.rank != root:
                for p, st in zip(params, payload[0], strict=True):
                    if st is not None:
                        optimizer.state[p] = {k: (v.to(p.device) if torch.is_tensor(v) else v) for k, v in st.items()}

    def broadcast_object(self, obj: Any, src: int = 0) -> Any:
        """A picklable object from rank ``src`` to every rank."""
        payload = [obj]
        dist.broadcast_object_list(payload, src)
        return payload[0]


def attach(ensemble: Any) -> MemberSharding:
    """Shard ``ensemble`` over the current process group; returns (and sets) ``ensemble.sharding``."""
    if not is_active():
        raise RuntimeError("no process group with more than one process; start with torchrun (or --nproc K)")
    world = dist.get_world_size()
    check_world_size(world, len(ensemble))
    sharding = MemberSharding(len(ensemble), dist.get_rank(), world)
    ensemble.sharding = sharding
    return sharding
