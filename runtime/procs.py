"""Process groups: find their members, stop them, find the orphans of a killed daemon.

Every command gnomon runs for a job runs in a process group of its own
(:func:`gnomon.runtime.spawn.run_group`); :func:`kill_group` stops a whole group —
``SIGTERM`` (and ``SIGCONT``), up to ``grace`` seconds, then ``SIGKILL``.

"Alive" means a member that is not a zombie: this machine's init reaps orphans lazily, so
``os.killpg(pgid, 0)`` can keep succeeding for a second or two after every member died.

Orphans (a daemon killed with ``-9`` leaves its runs' groups running): record
:func:`identify` of a run's child when it starts; after a restart
:func:`orphan_state` tells whether that group still runs — checking the start time in
``/proc/<pid>/stat`` and the boot id so that a reused pid is never killed — and
:func:`kill_orphan` stops it.
"""

from __future__ import annotations

import itertools
import os
import signal
from enum import StrEnum

import attrs
import trio

__all__ = [
    "DEFAULT_GRACE",
    "OrphanState",
    "ProcessIdentity",
    "boot_id",
    "child_groups",
    "group_alive",
    "group_members",
    "identify",
    "kill_group",
    "kill_orphan",
    "orphan_state",
    "start_time",
]

DEFAULT_GRACE = 5.0
_POLL = 0.05


# --- process groups ------------------------------------------------------------------------


def _signal(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stat_fields(pid: int | str) -> list[str] | None:
    """Fields 3… of ``/proc/<pid>/stat`` (state first), or ``None`` if it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read().decode("ascii", errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def group_members(pgid: int) -> list[int]:
    """Pids of the live (non-zombie) processes of group ``pgid``, read from ``/proc``."""
    members = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(name)
        if fields and len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(name))
    return members


def child_groups(parent: int | None = None) -> list[int]:
    """The process groups led by a child of ``parent`` (default: this process) — the
    groups :func:`~gnomon.runtime.spawn.run_group` started and that still run. Read from
    ``/proc``."""
    ppid = str(os.getpid() if parent is None else parent)
    groups = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = _stat_fields(name)
        if not fields or len(fields) < 3 or fields[0] in ("Z", "X"):
            continue
        if fields[1] == ppid and fields[2] == name:
            groups.append(int(name))
    return groups


def group_alive(pgid: int) -> bool:
    """True while a process of group ``pgid`` runs (zombies awaiting a reaper do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if not os.path.isdir("/proc/self"):
        return True
    return bool(group_members(pgid))


async def kill_group(pgid: int, grace: float = DEFAULT_GRACE) -> bool:
    """Stop every process of group ``pgid``: ``SIGTERM`` + ``SIGCONT``, up to ``grace``
    seconds for them to exit, then ``SIGKILL`` and up to one more second.

    Returns ``False`` when the group was already empty. Not shielded: callers that must
    finish it during cancellation shield it themselves.
    """
    if not _signal(pgid, signal.SIGTERM):
        return False
    _signal(pgid, signal.SIGCONT)
    if await _gone_within(pgid, grace):
        return True
    _signal(pgid, signal.SIGKILL)
    await _gone_within(pgid, 1.0)
    return True


async def _gone_within(pgid: int, limit: float) -> bool:
    """Poll until group ``pgid`` has no live member; ``False`` if ``limit`` passes first."""
    with trio.move_on_after(limit):
        for _ in itertools.count():
            if not group_alive(pgid):
                return True
            await trio.sleep(_POLL)
    return False


# --- orphans -------------------------------------------------------------------------------


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    fields = _stat_fields(pid)
    if not fields or len(fields) < 20:
        return None
    return int(fields[19])


def boot_id() -> str | None:
    """This boot's id (``/proc/sys/kernel/random/boot_id``); pids are unique only within it."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return None


@attrs.frozen(kw_only=True)
class ProcessIdentity:
    """What identifies a run's process beyond its pid (persist it with the run)."""

    pid: int
    pgid: int
    start_time: int | None
    boot_id: str | None


def identify(pid: int, pgid: int | None = None) -> ProcessIdentity:
    """The identity of running process ``pid`` (its group defaults to ``pid``)."""
    return ProcessIdentity(
        pid=pid, pgid=pid if pgid is None else pgid, start_time=start_time(pid), boot_id=boot_id()
    )


class OrphanState(StrEnum):
    """What became of a recorded process group."""

    GONE = "gone"  # nothing of it runs (or the machine rebooted)
    ALIVE = "alive"  # the leader (same start time) or other members still run
    REUSED = "reused"  # the pid now belongs to another process: leave it alone


def orphan_state(ident: ProcessIdentity) -> OrphanState:
    """Whether the group of ``ident`` still runs, without being fooled by pid reuse."""
    current_boot = boot_id()
    if ident.boot_id and current_boot and ident.boot_id != current_boot:
        return OrphanState.GONE
    now = start_time(ident.pid)
    if now is not None and ident.start_time is not None and now != ident.start_time:
        # a pid in use as a group id is never reallocated, so our group is empty
        return OrphanState.REUSED
    return OrphanState.ALIVE if group_alive(ident.pgid) else OrphanState.GONE


async def kill_orphan(ident: ProcessIdentity, grace: float = DEFAULT_GRACE) -> OrphanState:
    """Kill the group of ``ident`` if it is still ours and alive; returns what was found."""
    state = orphan_state(ident)
    if state is OrphanState.ALIVE:
        await kill_group(ident.pgid, grace)
    return state
