"""Connecting to Ray (optional extra ``ray``): shared by sweeps and Co-DeepNet's parallel fitness evaluation."""

from __future__ import annotations

from typing import Any


def connect_ray(workers: int, address: str | None = None) -> tuple[Any, bool]:
    """Import ray and make sure it is initialised: the cluster at ``address``, else a local instance with ``workers``
    CPUs. Returns ``(ray, started_here)``; whoever started it shuts it down.

    Raises:
        RuntimeError: ray is not installed (``pip install 'coterie[ray]'``).
    """
    try:
        import ray
    except ImportError:
        raise RuntimeError("the ray backend needs ray: pip install 'coterie[ray]'") from None
    if ray.is_initialized():
        return ray, False
    if address:
        ray.init(address=address, log_to_driver=False)
    else:
        ray.init(num_cpus=max(1, workers), include_dashboard=False, log_to_driver=False)
    return ray, True
