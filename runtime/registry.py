"""The registry: ``(kind, id) → ActorRef`` for every live registered actor.

Supervisors register a child when it is first started and unregister it when it is
removed for good, so a lookup never returns the ref of a removed actor. All access
happens on the trio thread; trio does not preempt, so no lock is needed.
"""

from __future__ import annotations

import math
from typing import Any

import trio

from gnomon.runtime.actor import ActorRef
from gnomon.runtime.errors import AskTimeout, Conflict

Key = tuple[str, str]


class Registry:
    """Names live actors; ``wait_for`` blocks until a name appears."""

    def __init__(self) -> None:
        self._refs: dict[Key, ActorRef[Any]] = {}
        self._waiters: dict[Key, trio.Event] = {}

    def __len__(self) -> int:
        return len(self._refs)

    def register(self, ref: ActorRef[Any]) -> None:
        """Add ``ref`` under ``(ref.kind, ref.id)``.

        Raises:
            Conflict: another live actor holds that name.
        """
        key = (ref.kind, ref.id)
        current = self._refs.get(key)
        if current is not None and current is not ref:
            raise Conflict(f"actor {ref.path} is already registered")
        self._refs[key] = ref
        event = self._waiters.pop(key, None)
        if event is not None:
            event.set()

    def unregister(self, ref: ActorRef[Any]) -> None:
        """Remove ``ref`` if it is the one registered under its name; else do nothing."""
        key = (ref.kind, ref.id)
        if self._refs.get(key) is ref:
            del self._refs[key]

    def lookup(self, kind: str, id: str) -> ActorRef[Any] | None:
        """The live actor named ``kind:id``, or ``None``."""
        return self._refs.get((kind, id))

    def of_kind(self, kind: str) -> list[ActorRef[Any]]:
        """Every live actor of one kind, in registration order."""
        return [ref for (k, _), ref in self._refs.items() if k == kind]

    def of_all(self) -> list[ActorRef[Any]]:
        """Every live registered actor."""
        return list(self._refs.values())

    async def wait_for(self, kind: str, id: str, timeout: float | None = None) -> ActorRef[Any]:
        """Return the actor named ``kind:id``, waiting until it is registered.

        Raises:
            AskTimeout: it did not appear within ``timeout`` seconds.
        """
        key = (kind, id)
        with trio.move_on_after(math.inf if timeout is None else timeout):
            while True:
                ref = self._refs.get(key)
                if ref is not None:
                    return ref
                event = self._waiters.setdefault(key, trio.Event())
                await event.wait()
        raise AskTimeout(f"actor {kind}:{id} was not registered within {timeout:g}s")
