"""The executor decision rule per device: fused MLPs on CPU; off the CPU vmap by rule and a timing probe that keeps
whichever candidate measured fastest (issue 17.7: on an H200 the vmap recipe beat the fused MLP step, so "never
slower than vmap" needs the choice to be measured there). No GPU is needed: the rule reads only the device type,
and the probe's clock is replaced by known times."""

from __future__ import annotations

import pytest
import torch

from coterie import Ensemble
from coterie.ensemble import executors, probe


def _mlp_members(n: int = 3) -> list[torch.nn.Module]:
    return list(Ensemble.from_factory("mlp", n, seed=0, hidden=(8,)).members)


@pytest.mark.parametrize("device", ["cuda", "cuda:0", torch.device("cuda", 1), "xpu"])
def test_identical_mlps_off_the_cpu_start_on_vmap_and_are_probed(device):
    members = _mlp_members()
    assert executors.choose(members, device) == "vmap"
    assert executors.in_doubt(members, device)
    plan = executors.plan(members, device)
    assert plan.choice == "vmap" and plan.in_doubt and {"fused", "vmap", "loop"} <= plan.runnable


def test_identical_mlps_on_the_cpu_are_fused_without_a_probe():
    members = _mlp_members()
    assert executors.choose(members, "cpu") == "fused" and not executors.in_doubt(members, "cpu")
    one = members[:1]
    assert executors.choose(one, "cuda") == "loop" and not executors.in_doubt(one, "cuda")  # one member: loop


def _clock(times: dict[str, float]):
    """A stand-in for probe._time_once that reports ``times[executor]`` (seconds) for each candidate."""
    by_fn = {executors.FORWARDS[name]: t for name, t in times.items()}

    def fake(fn, members, x):
        return by_fn[fn]

    return fake


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ({"loop": 3.0, "vmap": 1.0, "fused": 2.0}, "vmap"),  # the H200 case
        ({"loop": 3.0, "vmap": 2.0, "fused": 1.0}, "fused"),  # a device where fusing wins
        ({"loop": 0.5, "vmap": 2.0, "fused": 1.0}, "loop"),
    ],
)
def test_probe_keeps_the_fastest_measured_candidate(monkeypatch, times, expected):
    probe.clear_cache()
    monkeypatch.setattr(probe, "_time_once", _clock(times))
    assert probe.probe(_mlp_members(), torch.randn(4, 40)) == expected
    probe.clear_cache()


@pytest.mark.parametrize(
    ("times", "expected"),
    [({"loop": 3.0, "vmap": 1.0, "fused": 2.0}, "vmap"), ({"loop": 3.0, "vmap": 2.0, "fused": 1.0}, "fused")],
)
def test_ensemble_off_the_cpu_runs_what_the_probe_measured(monkeypatch, times, expected):
    """End to end through Ensemble.run_members, with the plan made for a CUDA device: the first training forward
    probes once, the ensemble then runs the measured winner, and its outputs and gradients are the loop's."""
    probe.clear_cache()
    monkeypatch.setattr(probe, "_time_once", _clock(times))
    real_plan = executors.plan
    monkeypatch.setattr(executors, "plan", lambda members, device="cpu": real_plan(members, "cuda"))
    ens = Ensemble.from_factory("mlp", 3, seed=0, hidden=(8,))
    ref = Ensemble.from_factory("mlp", 3, seed=0, hidden=(8,), executor="loop")
    assert ens.resolved_executor == "fused"  # the CPU rule, before any forward (members are on the CPU)
    x = torch.randn(6, 40)
    out = ens(x)
    assert ens.resolved_executor == expected
    torch.testing.assert_close(out, ref(x), atol=1e-5, rtol=1e-5)
    out.square().mean().backward()
    ref(x).square().mean().backward()
    for p, q in zip(ens.parameters(), ref.parameters()):
        torch.testing.assert_close(p.grad, q.grad, atol=1e-5, rtol=1e-5)
    probe.clear_cache()
