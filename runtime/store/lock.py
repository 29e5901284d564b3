"""An exclusive lock on a gnomon home, so two daemons never share one store.

``flock`` on ``<home>/gnomon.lock``, which holds the owner's pid. The kernel releases
the lock when the process dies (even by SIGKILL), so a stale lock file never blocks a
new daemon; the pid inside only names the holder in the refusal.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from gnomon.runtime.errors import DaemonUnreachable

LOCK_NAME = "gnomon.lock"


class HomeLocked(DaemonUnreachable):
    """Another process holds the home (exit 5: it cannot start)."""

    def __init__(self, home: Path, pid: int | None) -> None:
        who = f"pid {pid}" if pid else "another process"
        super().__init__(
            f"another gnomon daemon ({who}) is using {home}",
            hint="stop it with `gnomon daemon stop`, or use another --home",
        )
        self.pid = pid


class HomeLock:
    """Hold with ``with HomeLock(home):`` or :meth:`acquire` / :meth:`release`."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / LOCK_NAME
        self._fd: int | None = None

    def holder(self) -> int | None:
        """The pid written by the current holder, if readable."""
        try:
            return int(self.path.read_text().strip() or 0) or None
        except (OSError, ValueError):
            return None

    def acquire(self) -> None:
        """Take the lock.

        Raises:
            HomeLocked: another live process holds it (its pid is named).
        """
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise HomeLocked(self.home, self.holder()) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    def release(self) -> None:
        """Give the lock back (the file stays; it is harmless)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> HomeLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
