"""One shared object per distinct value: what many waits hold alike, held once (pure).

10k waits on one target each hold the same condition, owner and (empty) environment,
decoded anew from the store with every job's state: :class:`Canon` hands back the
first equal object it saw instead, so the decoded copies are freed with the state that
carried them (docs/performance.md, W6). Only immutable, hashable values go through it
(frozen attrs classes, strings); the table starts over when it reaches ``size``
distinct values, so it never grows with the number of jobs — objects handed out
before stay valid.
"""

from __future__ import annotations

from typing import Any, TypeVar

T = TypeVar("T")

#: the one empty environment every wait without one shares (never mutated: readers copy)
NO_ENV: dict[str, str] = {}


class Canon:
    """Equal hashable values → one object (see the module docstring).

    Args:
        size: distinct values held before the table starts over.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._held: dict[Any, Any] = {}

    def __len__(self) -> int:
        return len(self._held)

    def __call__(self, value: T) -> T:
        """The held object equal to ``value`` (of the same type), else ``value`` itself,
        held from now on. An unhashable value is returned as it is."""
        key = (type(value), value)
        try:
            held = self._held.get(key)
        except TypeError:
            return value
        if held is not None:
            return held  # type: ignore[no-any-return]
        if len(self._held) >= self._size:
            self._held.clear()
        self._held[key] = value
        return value
