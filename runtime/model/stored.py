"""Decoding a stored :class:`JobState`, including one whose spec today's bounds refuse.

A row written by an older gnomon may hold a spec that :mod:`~gnomon.runtime.model.bounds`
now refuses (an interval of 10 µs, a poll interval of 1e308 s). Refusing the row would
stop every reader (and the daemon's start) at it; accepting it as it is could spin the
engine. So :func:`decode_state` repairs such a spec — each refused field is reset to its
default, a refused schedule becomes ``manual``, a refused action ``noop`` — and marks the
state: its ``message`` starts with :data:`SPEC_REFUSED`, and it has no next fire and no
fire in flight. The engine then fails the job when it next loads it (``job.failed`` with
that message, see :mod:`gnomon.actors.core.job.recover`); views show it as it is.
"""

from __future__ import annotations

import json
import re
from typing import Any

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.state import JobState

#: The start of the message of a state whose stored spec was refused and repaired.
SPEC_REFUSED = "stored spec refused"
_MAX_REPAIRS = 32
_STEP = re.compile(r"\[(\d+)\]|([^.\[\]]+)")
#: What a refused required part of a spec becomes.
_STAND_INS: dict[tuple[str | int, ...], Any] = {
    ("spec", "schedule"): {"type": "manual"},
    ("spec", "action"): {"type": "noop"},
}


def decode_state(text: str | bytes) -> JobState:
    """The state stored as ``text`` (see the module docstring).

    Raises:
        InvalidInput: the text is not a state, or its spec cannot be repaired (the error
            of the strict decoding).
    """
    try:
        return wire.from_json(text, JobState)
    except InvalidInput as exc:
        first = exc
    data = json.loads(text)
    error = first
    for _ in range(_MAX_REPAIRS):
        if not _repair(data, _path(error.field)):
            raise first
        try:
            state = wire.structure(data, JobState)
        except InvalidInput as exc:
            error = exc
            continue
        return refused(state, first)
    raise first


def refused(state: JobState, error: InvalidInput) -> JobState:
    """``state`` marked as holding a refused spec (the first problem is named)."""
    problem = error.details[0] if error.details else error.message
    message = f"{SPEC_REFUSED}: {problem}; the job cannot run: recreate it with valid values"
    return attrs.evolve(state, message=message, next_fire_at=None, fires=(), queued=None)


def is_refused(state: JobState) -> bool:
    """True for a live state whose stored spec was refused (the engine must fail it)."""
    return not state.status.terminal and state.message.startswith(SPEC_REFUSED)


def _path(field: str | None) -> tuple[str | int, ...]:
    if not field:
        return ()
    return tuple(int(m[1]) if m[1] else m[2] for m in _STEP.finditer(field))


def _repair(data: Any, path: tuple[str | int, ...]) -> bool:
    """Drop the refused value at ``path`` (so its default applies), or the closest part
    of the spec around it that can go; False when nothing under ``spec`` can."""
    while len(path) > 1 and path[0] == "spec":
        parent = _walk(data, path[:-1])
        leaf = path[-1]
        if path in _STAND_INS and parent is not None:
            if parent.get(leaf) != _STAND_INS[path]:
                parent[leaf] = _STAND_INS[path]
                return True
        elif _holds(parent, leaf):
            del parent[leaf]
            return True
        path = path[:-1]
    return False


def _holds(parent: Any, leaf: str | int) -> bool:
    if isinstance(parent, dict):
        return leaf in parent
    return isinstance(parent, list) and isinstance(leaf, int) and leaf < len(parent)


def _walk(data: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        try:
            data = data[step]
        except (KeyError, IndexError, TypeError):
            return None
    return data
