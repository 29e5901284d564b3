"""The daemon's exclusion calendars (``gnomon calendar add|list|rm``): held in memory for
the job actors' slot checks, persisted as one JSON document in the store's ``meta`` table
(switch ``calendars``), so they survive restarts. No trio: the book is plain state; the
RPC handlers (actors/calendar_methods.py) save it after each change.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from gnomon.runtime.model import wire
from gnomon.runtime.model.exclusions import ExclusionCalendar, excluded_by
from gnomon.runtime.model.job import JobSpec

SWITCH = "calendars"


class ExclusionBook:
    """Exclusion calendars by name."""

    def __init__(self, calendars: Iterable[ExclusionCalendar] = ()) -> None:
        self.calendars: dict[str, ExclusionCalendar] = {c.name: c for c in calendars}

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
