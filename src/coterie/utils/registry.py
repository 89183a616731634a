"""One registry class for every family of named things: models, objectives, datasets, experiments, attacks, merge
methods.

A :class:`Registry` maps a name to an entry (a factory: a function or a class; for experiments, an ``Experiment``
record). Registering a name twice is refused, naming what holds it; an unknown name lists the registered ones; a
keyword argument the factory does not take lists the ones it does. Each family owns one instance and exposes its
own public functions (``coterie.models.create``, ``coterie.objectives.names``, ...); no module reads another's
entries except through these methods.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Generic, TypeVar

T = TypeVar("T")
E = TypeVar("E")


class UnknownNameError(KeyError):
    """A name no entry is registered under. ``args[0]`` is the message (it lists the registered names)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ArgumentError(TypeError, ValueError):
    """Keyword arguments a factory does not accept (the message lists the accepted ones).

    A ``TypeError`` like Python's own for a bad call, and a ``ValueError`` so that pydantic validators report it as a
    validation error of the config field.
    """


def _describe(entry: Any) -> str:
    """A short human name for an entry: ``module.qualname`` for functions and classes, else its repr."""
    target = entry if hasattr(entry, "__qualname__") else getattr(entry, "run", entry)  # an Experiment: its run
    module, qual = getattr(target, "__module__", None), getattr(target, "__qualname__", None)
    return f"{module}.{qual}" if module and qual else repr(entry)


class Registry(Generic[T]):
    """Name → entry for one family.

    Args:
        kind: what one entry is, for messages (``"model"``, ``"merge method"``).
        plural: the plural for messages (default ``kind + "s"``).
    """

    def __init__(self, kind: str, plural: str | None = None) -> None:
        self.kind = kind
        self.plural = plural or f"{kind}s"
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name`` and return it.

        Raises:
            ValueError: ``name`` is taken (the message names the entry holding it).
        """
        if name in self._entries:
            raise ValueError(
                f"{self.kind} {name!r} is already registered (by {_describe(self._entries[name])}); choose another name"
            )
        self._entries[name] = entry
        return entry

    def register(self, name: str) -> Callable[[E], E]:
        """Decorator form of :meth:`add`: ``@REGISTRY.register("mlp")`` on a factory."""

        def deco(entry: E) -> E:
            self.add(name, entry)  # type: ignore[arg-type]
            return entry

        return deco

    def names(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, name: str) -> T:
        """The entry registered under ``name``.

        Raises:
            UnknownNameError: (a ``KeyError``) no such name; the message lists the registered names.
        """
        if name not in self._entries:
            raise UnknownNameError(f"unknown {self.kind} {name!r}; registered {self.plural}: {self.names()}")
        return self._entries[name]

    __getitem__ = get

    def parameters(self, name: str) -> list[str] | None:
        """The keyword arguments the factory ``name`` accepts, or ``None`` when it accepts any (``**kwargs``)."""
        sig = inspect.signature(self.get(name))  # type: ignore[arg-type]
        if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
            return None
        return [k for k, p in sig.parameters.items() if p.kind not in (p.VAR_POSITIONAL, p.POSITIONAL_ONLY)]

    def check_kwargs(self, name: str, kwargs: Mapping[str, Any]) -> None:
        """Refuse keyword arguments the factory ``name`` does not accept (used by :meth:`create` and by config
        validation, so a bad argument fails before any work).

        Raises:
            UnknownNameError: no such name.
            ArgumentError: (a ``TypeError`` and a ``ValueError``) the unknown arguments and the allowed ones.
        """
        allowed = self.parameters(name)
        if allowed is None:
            return
        unknown = [k for k in kwargs if k not in allowed]
        if unknown:
            raise ArgumentError(f"unknown argument(s) {unknown} for {self.kind} {name!r}; allowed: {allowed}")

    def create(self, name: str, /, **kwargs: Any) -> Any:
        """Call the factory ``name`` with ``kwargs`` after checking them (see :meth:`check_kwargs`)."""
        self.check_kwargs(name, kwargs)
        return self.get(name)(**kwargs)  # type: ignore[operator]

    @contextmanager
    def override(self, name: str, entry: T) -> Iterator[T]:
        """Register ``entry`` under ``name`` for the duration of a ``with`` block, replacing any entry (tests)."""
        missing = object()
        old = self._entries.get(name, missing)
        self._entries[name] = entry
        try:
            yield entry
        finally:
            if old is missing:
                self._entries.pop(name, None)
            else:
                self._entries[name] = old  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names()})"
