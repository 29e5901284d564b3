"""The daemon's exclusion calendars (``gnomon calendar add|list|rm``): held in memory for
the job actors' slot checks, persisted as one JSON document in the store's ``meta`` table
(switch ``calendars``), so they survive restarts. No trio: the book is plain state.

A change is never a save of this node's book: the RPC handlers
(actors/schedule_methods.py) apply :func:`adding` or :func:`removing` to the document *as
stored*, in one transaction with its row locked (``Store.update_switch``), and hold the
result. So in a cluster, where every node reloads the document when it changes
(runtime/cluster/settings.py), no node can drop a calendar another node added, even one
it has not seen yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from datetime import datetime

from gnomon.runtime.errors import Conflict, NotFound
from gnomon.runtime.model import wire
from gnomon.runtime.model.exclusions import ExclusionCalendar, excluded_by
from gnomon.runtime.model.job import JobSpec

SWITCH = "calendars"


class ExclusionBook:
    """Exclusion calendars by name."""

    def __init__(self, calendars: Iterable[ExclusionCalendar] = ()) -> None:
        self.calendars: dict[str, ExclusionCalendar] = {c.name: c for c in calendars}
        #: moves with every change made through this node (a cluster's reload read
        #: before it is thrown away: runtime/cluster/settings.py)
        self.version = 0

    def adopt(self, text: str | None) -> None:
        """Hold exactly the calendars of the stored document ``text``."""
        self.calendars = ExclusionBook.load(text).calendars

    def excluded(self, spec: JobSpec, slot: datetime) -> str | None:
        """The first of ``spec.exclude`` whose calendar covers ``slot``, or ``None``."""
        if not spec.exclude:
            return None
        return excluded_by(spec.exclude, self.calendars, slot)

    def put(self, calendar: ExclusionCalendar) -> None:
        """Add ``calendar``, or replace the one with its name."""
        self.calendars[calendar.name] = calendar

    def remove(self, name: str) -> bool:
        """Forget calendar ``name``; whether it existed."""
        return self.calendars.pop(name, None) is not None

    def dump(self) -> str:
        """The persisted form (a JSON list, sorted by name)."""
        items = [wire.unstructure(self.calendars[n]) for n in sorted(self.calendars)]
        return json.dumps(items, sort_keys=True)

    @classmethod
    def load(cls, text: str | None) -> ExclusionBook:
        """The book of a persisted form (``None``: none stored yet)."""
        if not text:
            return cls()
        return cls(wire.structure(item, ExclusionCalendar) for item in json.loads(text))


def adding(calendar: ExclusionCalendar, *, replace: bool) -> Callable[[str | None], str]:
    """The change of a stored book that adds ``calendar``.

    Raises (when applied):
        Conflict: the stored book has a calendar of that name and ``replace`` is not set.
    """

    def change(text: str | None) -> str:
        book = ExclusionBook.load(text)
        if calendar.name in book.calendars and not replace:
            raise Conflict(f"calendar {calendar.name!r} exists; pass --replace to overwrite it")
        book.put(calendar)
        return book.dump()

    return change


def removing(name: str) -> Callable[[str | None], str]:
    """The change of a stored book that removes calendar ``name``.

    Raises (when applied):
        NotFound: the stored book has no calendar of that name.
    """

    def change(text: str | None) -> str:
        book = ExclusionBook.load(text)
        if not book.remove(name):
            raise NotFound(f"no calendar {name!r}")
        return book.dump()

    return change
