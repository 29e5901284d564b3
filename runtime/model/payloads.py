"""Typed views of the event payload keys the daemon reads back (the metrics, the fire
window, ``system.status``): producers write these keys, readers read them only through
the classes here (docs/operations.md, "Metrics", names the metrics they feed).

* ``job.created``: ``action_type`` (:class:`Created`).
* ``job.fired``: ``lag``, seconds late against the nominal slot (:class:`Fired`).
* run ends — any event with ``run_id``, an outcome and ``duration`` — : ``action_type``,
  ``duration`` (:class:`RunEnded`).
* ``job.wait_tick``: ``condition_type``, ``result`` (``true|false|error|breaker_open``;
  :class:`WaitTick`).
* ``job.wait_satisfied`` and wait timeouts: ``condition_type``, ``waited``, and
  ``result`` (``true``) on the first (:class:`WaitEnded`); ``job.wait_started``:
  ``condition_type`` (:class:`WaitEvent`).
* ``job.retry_queued``: ``action_type`` (:class:`RetryQueued`). ``job.skipped``:
  ``reason``, and ``count`` when one event stands for several slots (:class:`Skipped`).
* ``breaker.*``: ``key``, ``to`` (``closed|open|half_open``; :class:`BreakerMoved`).

Writing is typed too: the engine adds these keys only through the classes' ``write``
(``actors/job/units.py``, ``enrich``), so a reader and its writer cannot disagree on
a key. Reading never raises: a key that is missing or of the wrong type reads as
:data:`UNKNOWN` (a label) or ``None`` (a number), so an event from an older version still
counts. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from gnomon.runtime.model.events import Event

#: The label of a type or reason a payload does not name.
UNKNOWN = "unknown"

Payload = Mapping[str, Any]


def _label(p: Payload, key: str) -> str:
    value = p.get(key)
    return value if isinstance(value, str) else UNKNOWN


def _number(p: Payload, key: str) -> float | None:
    value = p.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@attrs.frozen
class Created:
    """``job.created`` (and ``job.retry_queued``: :data:`RetryQueued`)."""

    action_type: str

    @classmethod
    def read(cls, p: Payload) -> Created:
        return cls(_label(p, "action_type"))

    def write(self, p: Payload) -> dict[str, Any]:
        return {**p, "action_type": self.action_type}


#: ``job.retry_queued`` names its action type as ``job.created`` does.
RetryQueued = Created


@attrs.frozen
class Fired:
    """``job.fired``; ``lag`` is ``None`` for a manual or queued fire (no nominal slot)."""

    lag: float | None

    @classmethod
    def read(cls, p: Payload) -> Fired:
        return cls(_number(p, "lag"))

    def write(self, p: Payload) -> dict[str, Any]:
        return dict(p) if self.lag is None else {**p, "lag": self.lag}


@attrs.frozen
class RunEnded:
    """The end of a run, whatever the event type."""

    action_type: str
    outcome: str
    duration: float

    @classmethod
    def read(cls, event: Event) -> RunEnded | None:
        """The run end ``event`` reports, or ``None`` when it reports none."""
        p = event.payload
        duration = _number(p, "duration")
        if "run_id" not in p or event.outcome is None or duration is None:
            return None
        return cls(_label(p, "action_type"), event.outcome.value, duration)

    def write(self, p: Payload) -> dict[str, Any]:
        """``p`` with the run's action type and duration (the outcome is the event's)."""
        return {**p, "action_type": self.action_type, "duration": self.duration}


@attrs.frozen
class WaitEvent:
    """Any event of a job with a wait about that wait (``job.wait_started`` and the
    three below): the condition's type."""

    condition_type: str

    @classmethod
    def read(cls, p: Payload) -> WaitEvent:
        return cls(_label(p, "condition_type"))

    def write(self, p: Payload) -> dict[str, Any]:
        return {**p, "condition_type": self.condition_type}


@attrs.frozen
class WaitTick:
    """``job.wait_tick``."""

    condition_type: str
    result: str

    @classmethod
    def read(cls, p: Payload) -> WaitTick:
        return cls(_label(p, "condition_type"), _label(p, "result"))

    def write(self, p: Payload) -> dict[str, Any]:
        return {**p, "condition_type": self.condition_type, "result": self.result}


@attrs.frozen
class WaitEnded:
    """``job.wait_satisfied`` and a wait's ``job.timed_out``; ``waited`` in seconds
    (``None``: not known); ``result`` is ``true`` on ``job.wait_satisfied`` (the audit's,
    not read by the metrics), else ``None``."""

    condition_type: str
    waited: float | None
    result: str | None = None

    @classmethod
    def read(cls, p: Payload) -> WaitEnded:
        result = p.get("result")
        ok = isinstance(result, str)
        return cls(_label(p, "condition_type"), _number(p, "waited"), result if ok else None)

    def write(self, p: Payload) -> dict[str, Any]:
        """``p`` with the keys that are known (``waited`` and ``result`` when not
        ``None``)."""
        out = {**p, "condition_type": self.condition_type}
        if self.result is not None:
            out["result"] = self.result
        if self.waited is not None:
            out["waited"] = self.waited
        return out


@attrs.frozen
class Skipped:
    """``job.skipped``; ``count``: the slots one event stands for (a pause's)."""

    reason: str
    count: int = 1

    @classmethod
    def read(cls, p: Payload) -> Skipped:
        count = p.get("count", 1)
        ok = isinstance(count, int) and not isinstance(count, bool)
        return cls(_label(p, "reason"), count if ok else 1)


@attrs.frozen
class BreakerMoved:
    """``breaker.opened|half_open|closed``; ``None`` where the payload has no string."""

    key: str | None
    to: str | None

    @classmethod
    def read(cls, p: Payload) -> BreakerMoved:
        key, to = p.get("key"), p.get("to")
        return cls(key if isinstance(key, str) else None, to if isinstance(to, str) else None)
