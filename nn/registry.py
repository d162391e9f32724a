"""One registry style for everything a user names: activations, losses, initialisers,
layers, optimizers, data sets.

A :class:`Registry` maps a name to an object (a function, a class, a record
with metadata). ``register`` is a decorator or a plain call; ``get`` finds a
name and, when it is unknown, raises a ``ValueError`` that lists the valid
names (``get(name, default)`` returns ``default`` instead, as a mapping's ``get`` does);
``names()`` feeds ``click.Choice``, sweep validation and the shared
tests. Lookups are case-insensitive unless the registry is made with
``case_sensitive=True`` (optimizers: exact keys), and ``canonical`` returns
the registered spelling (``relu`` -> ``ReLU``), so logs and run names always
use one spelling.

:func:`import_submodules` fills a registry from the files of a package, so
adding an entry is one new file (optimizers, layers, data sets).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

_DECORATE = object()
_REQUIRED = object()


class Registry(Mapping[str, Any]):
    def __init__(self, kind: str, case_sensitive: bool = False) -> None:
        self.kind = kind
        self.case_sensitive = case_sensitive
        self._entries: dict[str, Any] = {}

    def register(self, name: str, entry: Any = _DECORATE) -> Any:
        """``registry.register("name", obj)``, or ``@registry.register("name")`` on a class or function."""
        if entry is _DECORATE:
            return lambda obj: self.register(name, obj)
        if self._key(name) in {self._key(known) for known in self._entries}:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def _key(self, name: str) -> str:
        return str(name) if self.case_sensitive else str(name).lower()

    def canonical(self, name: str) -> str:
        """The registered spelling of ``name``; ``ValueError`` listing the valid names if unknown."""
        by_key = {self._key(known): known for known in self._entries}
        try:
            return by_key[self._key(name)]
        except KeyError:
            raise ValueError(f"unknown {self.kind} {name!r}; valid names: {', '.join(self.names())}") from None

    def get(self, name: str, default: Any = _REQUIRED) -> Any:
        """The entry registered as ``name``; if unknown, ``default`` when given, else the ``ValueError``
        of :meth:`canonical` that lists the valid names."""
        if default is not _REQUIRED and name not in self:
            return default
        return self._entries[self.canonical(name)]

    def names(self) -> list[str]:
        """Registered names in registration order."""
        return list(self._entries)

    def __getitem__(self, name: str) -> Any:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return self._key(str(name)) in {self._key(known) for known in self._entries}

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}: {', '.join(self._entries)})"


def import_submodules(package: str, path: Iterable[str], skip: Callable[[str], bool] = lambda name: False) -> None:
    """Import every module of ``package`` (its ``__path__``) whose name does not start with ``_``."""
    for module in sorted(pkgutil.iter_modules(path), key=lambda m: m.name):
        if not module.name.startswith("_") and not skip(module.name):
            importlib.import_module(f"{package}.{module.name}")
