"""Optional packages a config or option may ask for, checked before any work.

A feature that needs an optional extra (``tensorboard`` for ``log.tensorboard`` / ``--tensorboard``, ``ray`` for
``--backend ray`` or a genetic search with ``search.backend: ray``) is refused up front with one line naming the
feature and the install command, as bad input (:class:`~coterie.utils.errors.InputError`: the CLI exits 2),
instead of failing with an ImportError halfway through a run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from coterie.utils.errors import InputError


class MissingExtraError(InputError):
    """A requested feature needs an optional package that is not installed."""


def extra_available(module: str) -> bool:
    """Whether ``module`` can be imported (found without importing it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ValueError, ImportError):  # a module object without a spec, or a broken parent package
        return False


def require_extra(module: str, feature: str, extra: str | None = None) -> None:
    """Raise :class:`MissingExtraError` (one line) unless ``module`` is importable."""
    if not extra_available(module):
        raise MissingExtraError(f"{feature} needs the {module} package: pip install 'coterie[{extra or module}]'")


def require_config_extras(cfg: Any) -> None:
    """Check every optional package ``cfg`` asks for: ``log.tensorboard`` → tensorboard; ``search.backend: ray``
    → ray. Raises :class:`MissingExtraError` for the first one missing."""
    log = getattr(cfg, "log", None)
    if log is not None and getattr(log, "tensorboard", False):
        require_extra("tensorboard", "TensorBoard logging (--tensorboard, log.tensorboard)")
    search = getattr(cfg, "search", None)
    if search is not None and getattr(search, "backend", None) == "ray":
        require_extra("ray", "search.backend: ray")


def require_sweep_extras(backend: str, base: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """A sweep's optional packages, before any run starts: ``--backend ray`` → ray; ``log.tensorboard`` or
    ``search.backend: ray`` in the base config (raw mapping) or the ``--set`` overrides (dotted keys)."""
    if backend == "ray":
        require_extra("ray", "--backend ray")

    def value(dotted: str) -> Any:
        if dotted in overrides:
            return overrides[dotted]
        node: Any = base
        for part in dotted.split("."):
            node = node.get(part) if isinstance(node, Mapping) else None
        return node

    if value("log.tensorboard"):
        require_extra("tensorboard", "TensorBoard logging (log.tensorboard)")
    if value("search.backend") == "ray":
        require_extra("ray", "search.backend: ray")
