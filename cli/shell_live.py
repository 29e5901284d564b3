"""What ``gnomon shell`` keeps live: job counts for the prompt badge, live job names for
completion, and event notices printed above the prompt.

The daemon side runs on trio in a background thread (:class:`LiveThread`, its own
``trio.run``) while prompt_toolkit owns the main thread's asyncio loop; they share only a
lock-protected :class:`LiveState` and two thread-safe callbacks (``wake``: redraw the
prompt; ``emit``: print a notice). A snapshot (``job.list``) starts each connection and
follows each lag marker; events then update it job by job.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import suppress
from datetime import datetime
from typing import Any

import trio

from gnomon.cli.client import Client, connect
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import DaemonUnreachable, GnomonError
from gnomon.runtime.home import Home
from gnomon.runtime.model.enums import TERMINAL_STATUSES
from gnomon.runtime.model.events import EventType

#: Badge order: status, glyph.
BADGE = (("running", "▶"), ("pending", "⏳"), ("waiting", "👁"), ("blocked", "⛓"))
RETRY_SECONDS = 2.0

#: Event types worth a line above the prompt: glyph, colour (SGR).
NOTICES: dict[str, tuple[str, str]] = {
    EventType.JOB_COMPLETED: ("✔", "32"),
    EventType.JOB_FAILED: ("✘", "31"),
    EventType.JOB_TIMED_OUT: ("⏱", "33"),
    EventType.JOB_CANCELLED: ("⊘", "33"),
    EventType.JOB_DEPENDENCY_FAILED: ("✘", "31"),
    EventType.JOB_RETRY_QUEUED: ("↻", "33"),
    EventType.RUN_ORPHANED: ("⚠", "33"),
    EventType.RUN_INTERRUPTED: ("⏸", "33"),
    EventType.BREAKER_OPENED: ("⚡", "31"),
    EventType.BREAKER_HALF_OPEN: ("⚡", "33"),
    EventType.BREAKER_CLOSED: ("⚡", "32"),
    EventType.ACTOR_CRASHED: ("⚠", "31"),
    EventType.DAEMON_STOPPED: ("⏻", "33"),
}


def badge_text(counts: Mapping[str, int] | None) -> str:
    """``▶ 1 ⏳ 2 👁 0 ⛓ 0`` for these counts; ``offline`` without a daemon (``None``)."""
    if counts is None:
        return "⊘ offline"
    return " ".join(f"{glyph} {counts.get(status, 0)}" for status, glyph in BADGE)


def use_colour() -> bool:
    """Colour only on a TTY and never with ``NO_COLOR`` set."""
    return "NO_COLOR" not in os.environ and os.isatty(1)


#: How the end of one fire reads when the job goes on (a recurring job back to pending).
FIRE_ENDS: dict[str, str] = {
    EventType.JOB_COMPLETED: "succeeded",
    EventType.JOB_FAILED: "failed",
    EventType.JOB_TIMED_OUT: "timed out",
}


def notice_text(event: Mapping[str, Any], colour: bool = False) -> str | None:
    """One line for an event worth noticing (``None`` for the others): ``job NAME
    completed``, but ``NAME: fire 55 succeeded`` for one fire of a job that goes on."""
    kind = str(event.get("type", ""))
    if kind not in NOTICES:
        return None
    glyph, sgr = NOTICES[kind]
    stamp = _clock(event.get("timestamp"))
    payload = event.get("payload") or {}
    subject = event.get("name") or payload.get("key") or ""
    label = kind.split(".", 1)[1].replace("_", " ")
    head = f"{glyph} {kind.split('.')[0]} {subject} {label}".replace("  ", " ")
    message = str(event.get("message") or "")
    status, cycle = event.get("status"), payload.get("cycle")
    if kind in FIRE_ENDS and cycle is not None and status and status not in TERMINAL_STATUSES:
        fire = f"fire {cycle} {FIRE_ENDS[kind]}"
        head = f"{glyph} {subject}: {fire}"
        message = "" if message == fire else message
    line = f"{stamp} {head}" + (f" — {message}" if message else "")
    return f"\x1b[{sgr}m{line}\x1b[0m" if colour else line


def _clock(value: Any) -> str:
    try:
        return datetime.fromisoformat(str(value)).astimezone().strftime("%H:%M:%S")
    except ValueError:
        return "--:--:--"


class LiveState:
    """Live jobs by id (name, status), shared between the trio thread and the prompt."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, tuple[str, str]] = {}
        self._online = False
        self.problem = ""

    def reset(self, jobs: Iterable[Mapping[str, Any]]) -> None:
        """Replace everything with a snapshot (``job.list``: live jobs)."""
        with self._lock:
            self._jobs = {
                str(j["id"]): (str(j["name"]), str(j["status"]))
                for j in jobs
                if j["status"] not in TERMINAL_STATUSES
            }
            self._online = True
            self.problem = ""

    def offline(self, problem: str) -> None:
        """No daemon: the badge says so and the counts are unknown."""
        with self._lock:
            self._online = False
            self.problem = problem

    def apply(self, event: Mapping[str, Any]) -> bool:
        """Fold one event in; True when the counts or names changed."""
        job_id, status = event.get("job_id"), event.get("status")
        if not job_id:
            return False
        with self._lock:
            before = self._jobs.get(job_id)
            if event.get("type") == EventType.JOB_EXPIRED or status in TERMINAL_STATUSES:
                self._jobs.pop(job_id, None)
            elif status:
                name = event.get("name") or (before[0] if before else job_id)
                self._jobs[job_id] = (str(name), str(status))
            return self._jobs.get(job_id) != before

    def counts(self) -> dict[str, int] | None:
        """Live jobs by status, or ``None`` while offline."""
        with self._lock:
            if not self._online:
                return None
            return dict(Counter(status for _, status in self._jobs.values()))

    def names(self) -> list[str]:
        """Live job names, sorted."""
        with self._lock:
            return sorted({name for name, _ in self._jobs.values()})


async def follow(
    home: Home,
    url: str | None,
    state: LiveState,
    wake: Callable[[], None],
    emit: Callable[[str], None],
) -> None:
    """Keep ``state`` current forever, reconnecting while the daemon is away."""
    start = True
    while True:
        try:
            async with connect(home, url, start=start) as client:
                await _stream(client, state, wake, emit)
        except Exception as exc:  # a broken stream must never end the thread
            state.offline(exc.message if isinstance(exc, GnomonError) else str(exc))
            wake()
        start = False
        await trio.sleep(RETRY_SECONDS)


async def _stream(
    client: Client, state: LiveState, wake: Callable[[], None], emit: Callable[[str], None]
) -> None:
    """Snapshot, then events; a new snapshot after each lag marker."""
    colour = use_colour()
    while True:
        async with client.subscribe() as notes:
            state.reset(await client.collect(methods.JOB_LIST, {}, "jobs"))
            wake()
            async for note in notes:
                if "resume_from" in note:
                    break
                event = note["event"]
                if state.apply(event):
                    wake()
                text = notice_text(event, colour)
                if text is not None:
                    emit(text)
            else:
                raise DaemonUnreachable("the daemon closed the event stream")


class LiveThread:
    """:func:`follow` on its own trio loop in a daemon thread; :meth:`stop` ends it."""

    def __init__(
        self,
        home: Home,
        url: str | None,
        state: LiveState,
        wake: Callable[[], None],
        emit: Callable[[str], None],
    ) -> None:
        self._wake = wake
        self._args = (home, url, state, self._woken, emit)
        self._token: trio.lowlevel.TrioToken | None = None
        self._scope: trio.CancelScope | None = None
        self._settled = threading.Event()
        self._thread = threading.Thread(target=self._run, name="gnomon-shell-live", daemon=True)

    def start(self, timeout: float = 30) -> None:
        """Start following; returns once the first connection (or autostart) settled, so
        the first prompt shows real counts and no command races the autostart."""
        self._thread.start()
        self._settled.wait(timeout)

    def _woken(self) -> None:
        self._settled.set()
        self._wake()

    def _run(self) -> None:
        trio.run(self._main)

    async def _main(self) -> None:
        with trio.CancelScope() as scope:
            self._scope, self._token = scope, trio.lowlevel.current_trio_token()
            await follow(*self._args)

    def stop(self) -> None:
        """Cancel the loop and wait briefly for the thread."""
        if self._token is not None and self._scope is not None:
            with suppress(trio.RunFinishedError):
                trio.from_thread.run_sync(self._scope.cancel, trio_token=self._token)
        self._thread.join(2)
