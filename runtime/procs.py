"""Child processes in their own process group: spawn, stream, kill, find orphans.

Every command gnomon runs for a job (shell actions, agent commands, hooks, condition
commands, ``docker``/``kubectl``) goes through :func:`run_group`:

- the child starts a new session (``start_new_session=True``), so its pid is also the id
  of a process group holding everything it spawns;
- stdout (and stderr, merged or separately) is streamed into a bounded
  :class:`TailBuffer` — only the tail is kept, never the whole output;
- cancellation (timeout, ``jobs cancel``, shutdown) sends ``SIGTERM`` (and ``SIGCONT``) to
  the *group*, waits up to ``grace`` seconds for every member to exit, then ``SIGKILL``s
  the group, and reaps the child before re-raising. trio's default ``deliver_cancel``
  signals only the direct child and leaves grandchildren running;
- when the child exits by itself, members of its group that are still running (``cmd &``
  without ``wait``) are stopped the same way: a job's process group never outlives its
  run. A command that must keep a process running starts it in a session of its own
  (``setsid``); its output is then read for at most ``linger`` more seconds.

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
import subprocess
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Literal

import attrs
import trio

__all__ = [
    "DEFAULT_GRACE",
    "OrphanState",
    "ProcResult",
    "ProcessIdentity",
    "SpawnFailed",
    "TailBuffer",
    "boot_id",
    "child_env",
    "child_groups",
    "group_alive",
    "group_members",
    "identify",
    "kill_group",
    "kill_orphan",
    "orphan_state",
    "run_group",
    "start_time",
]

DEFAULT_GRACE = 5.0
_CHUNK = 65536
_POLL = 0.05

SpawnHook = Callable[[int, int], Awaitable[None]]
Stderr = Literal["merge", "separate", "discard"]


class SpawnFailed(Exception):
    """The program could not be started (missing, not executable, bad working directory).

    Attributes:
        missing: the program or the working directory does not exist.
    """

    def __init__(self, message: str, *, missing: bool) -> None:
        super().__init__(message)
        self.message = message
        self.missing = missing


class TailBuffer:
    """Keeps the last ``keep`` bytes of a stream (amortised O(1) per byte)."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.total = 0
        self._buf = bytearray()

    def append(self, data: bytes) -> None:
        self._buf += data
        self.total += len(data)
        if len(self._buf) > 2 * self.keep:
            del self._buf[: len(self._buf) - self.keep]

    @property
    def data(self) -> bytes:
        """The kept tail."""
        return bytes(self._buf[-self.keep :]) if self.keep else b""

    @property
    def truncated(self) -> bool:
        """More was written than is kept."""
        return self.total > self.keep


@attrs.frozen(kw_only=True)
class ProcResult:
    """How a process group's leader ended, and the tails of its output.

    ``returncode`` is Python's: negative ``-N`` when killed by signal ``N``.
    """

    pid: int
    pgid: int
    returncode: int
    stdout: bytes = b""
    stdout_truncated: bool = False
    stderr: bytes = b""
    stderr_truncated: bool = False

    @property
    def exit_code(self) -> int:
        """The shell's convention: ``128 + N`` for a death by signal ``N``."""
        return self.returncode if self.returncode >= 0 else 128 - self.returncode

    @property
    def signal(self) -> int | None:
        return -self.returncode if self.returncode < 0 else None


def child_env(
    base: Mapping[str, str], extra: Mapping[str, str], *, drop: Iterable[str] = ()
) -> dict[str, str]:
    """``base`` without the names in ``drop``, updated with ``extra`` (``extra`` wins)."""
    dropped = set(drop)
    env = {k: v for k, v in base.items() if k not in dropped}
    env.update(extra)
    return env


async def run_group(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    stdin: bytes | None = None,
    stderr: Stderr = "merge",
    keep: int = 32 * 1024,
    on_spawn: SpawnHook | None = None,
    grace: float = DEFAULT_GRACE,
    linger: float = 0.5,
    out: TailBuffer | None = None,
    err: TailBuffer | None = None,
) -> ProcResult:
    """Run ``argv`` (never through a shell unless ``argv`` says so) in a new process group.

    Args:
        stdin: bytes fed to the child's stdin, then EOF; ``None`` gives it ``/dev/null``.
        stderr: ``merge`` into stdout, keep ``separate``ly, or ``discard``.
        keep: bytes kept of each stream's tail.
        out, err: buffers to stream into instead of fresh ones of ``keep`` bytes — pass
            them to still see the output when the run is cancelled.
        on_spawn: awaited with ``(pid, pgid)`` right after the start; if it raises, the
            group is killed and the exception propagates.

    Raises:
        SpawnFailed: the program or the working directory is missing or not usable.

    Cancellation: kills the whole group (``SIGTERM``, ``grace``, ``SIGKILL``), reaps the
    child, then re-raises; this takes at most ``grace`` + 1 s.
    """
    proc = await _spawn(argv, env=env, cwd=cwd, stdin=stdin, stderr=stderr)
    pgid = proc.pid
    out = TailBuffer(keep) if out is None else out
    err = TailBuffer(keep) if err is None else err
    try:
        if on_spawn is not None:
            await on_spawn(proc.pid, pgid)
        async with trio.open_nursery() as pumps:
            assert proc.stdout is not None
            pumps.start_soon(_pump, proc.stdout, out)
            if proc.stderr is not None:
                pumps.start_soon(_pump, proc.stderr, err)
            if proc.stdin is not None:
                pumps.start_soon(_feed, proc.stdin, stdin or b"")
            await proc.wait()
            if group_alive(pgid):  # leftovers (`cmd &`): a group never outlives its run
                await kill_group(pgid, grace)
            pumps.cancel_scope.deadline = trio.current_time() + linger
    except BaseException:
        with trio.CancelScope(shield=True):
            await kill_group(pgid, grace)
            await proc.wait()
        raise
    finally:
        with trio.CancelScope(shield=True):
            await _close(proc)
    assert proc.returncode is not None
    return ProcResult(
        pid=proc.pid,
        pgid=pgid,
        returncode=proc.returncode,
        stdout=out.data,
        stdout_truncated=out.truncated,
        stderr=err.data,
        stderr_truncated=err.truncated,
    )


async def _spawn(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None,
    cwd: str | None,
    stdin: bytes | None,
    stderr: Stderr,
) -> trio.Process:
    err_to = {
        "merge": subprocess.STDOUT,
        "separate": subprocess.PIPE,
        "discard": subprocess.DEVNULL,
    }
    try:
        return await trio.lowlevel.open_process(
            list(argv),
            stdin=subprocess.DEVNULL if stdin is None else subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=err_to[stderr],
            start_new_session=True,
            env=None if env is None else dict(env),
            cwd=cwd,
        )
    except (FileNotFoundError, NotADirectoryError) as exc:
        what = "working directory" if cwd is not None and exc.filename == cwd else "program"
        raise SpawnFailed(
            f"cannot start {argv[0]!r}: {what} {exc.filename!r} not found", missing=True
        ) from exc
    except PermissionError as exc:
        raise SpawnFailed(f"cannot start {argv[0]!r}: permission denied", missing=False) from exc
    except OSError as exc:
        raise SpawnFailed(f"cannot start {argv[0]!r}: {exc.strerror}", missing=False) from exc


async def _pump(stream: trio.abc.ReceiveStream, into: TailBuffer) -> None:
    try:
        while chunk := await stream.receive_some(_CHUNK):
            into.append(bytes(chunk))
    except (trio.ClosedResourceError, trio.BrokenResourceError):
        return


async def _feed(stream: trio.abc.SendStream, data: bytes) -> None:
    try:
        if data:
            await stream.send_all(data)
        await stream.aclose()
    except (trio.ClosedResourceError, trio.BrokenResourceError):
        return


async def _close(proc: trio.Process) -> None:
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            await stream.aclose()


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
    groups :func:`run_group` started and that still run. Read from ``/proc``."""
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
