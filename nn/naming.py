"""Case-insensitive lookup of the names users type (``relu`` finds ``ReLU``)."""
from __future__ import annotations

from typing import Iterable


def canonical_name(name: str, known: Iterable[str]) -> str:
    """Return the spelling of ``name`` used in ``known``; ``ValueError`` listing them if absent."""
    known = list(known)
    by_lower = {key.lower(): key for key in known}
    try:
        return by_lower[str(name).lower()]
    except KeyError:
        raise ValueError(f"unknown name {name!r}; valid names: {', '.join(known)}") from None
