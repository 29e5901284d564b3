"""Run a command in its own process group and stream its output (docs/engine.md).

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

Stopping groups and finding orphans: :mod:`gnomon.runtime.procs`.
"""

from __future__ import annotations

import subprocess
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Literal

import attrs
import trio

from gnomon.runtime.procs import DEFAULT_GRACE, group_alive, kill_group

__all__ = [
    "ProcResult",
    "SpawnFailed",
    "SpawnHook",
    "Stderr",
    "TailBuffer",
    "child_env",
    "run_group",
]

_CHUNK = 65536

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
        await _stream_until_exit(proc, out, err, stdin, grace=grace, linger=linger)
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


async def _stream_until_exit(
    proc: trio.Process,
    out: TailBuffer,
    err: TailBuffer,
    stdin: bytes | None,
    *,
    grace: float,
    linger: float,
) -> None:
    """Feed stdin and stream the output until the leader exits, then stop what is left of
    its group and read the output for at most ``linger`` more seconds."""
    async with trio.open_nursery() as pumps:
        assert proc.stdout is not None
        pumps.start_soon(_pump, proc.stdout, out)
        if proc.stderr is not None:
            pumps.start_soon(_pump, proc.stderr, err)
        if proc.stdin is not None:
            pumps.start_soon(_feed, proc.stdin, stdin or b"")
        await proc.wait()
        if group_alive(proc.pid):  # leftovers (`cmd &`): a group never outlives its run
            await kill_group(proc.pid, grace)
        pumps.cancel_scope.deadline = trio.current_time() + linger


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
