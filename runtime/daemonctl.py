"""Controlling daemon processes from the outside: who holds a port, is a pid alive,
start detached, stop, and the systemd unit. Used by the daemon and by ``gnomon daemon``."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def port_holder(port: int) -> int | None:
    """The pid of the process listening on TCP ``port``, if this user may see it."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{inode}]")
    if not inodes:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in inodes:
                        return int(proc.name)
    return None


def pid_alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def spawn_detached(argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> int:
    """Start ``argv`` in a new session, stdout/stderr appended to ``log_path``; its pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
            close_fds=True,
        )
    return proc.pid


#: Seconds a stopping daemon has beyond its drain limit (to interrupt and record its
#: runs, stop the store) before ``stop`` kills it.
STOP_SLACK = 30.0


def wait_gone(pid: int, timeout: float, tick: Callable[[], None] | None = None) -> bool:
    """Wait up to ``timeout`` seconds for ``pid`` to exit (reaping it if it is our child);
    ``tick`` is called every 50 ms meanwhile."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return True
        if tick is not None:
            tick()
        time.sleep(0.05)
    return not pid_alive(pid)


def stop(
    pid: int,
    *,
    drain: float,
    force: bool,
    now: bool = False,
    tick: Callable[[], None] | None = None,
) -> str:
    """SIGTERM (SIGQUIT with ``now``: running actions are interrupted at once), wait for
    the drain, then SIGKILL (at once after a short wait with ``force``); ``tick`` is
    called while waiting. Returns ``"stopped"``, ``"killed"`` or ``"not running"``."""
    try:
        os.kill(pid, signal.SIGQUIT if now else signal.SIGTERM)
    except ProcessLookupError:
        return "not running"
    if wait_gone(pid, 2.0 if force else drain + STOP_SLACK, tick):
        return "stopped"
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    wait_gone(pid, 5.0)
    return "killed"


def daemon_argv(home: Path, extra: list[str]) -> list[str]:
    """The command line of a foreground daemon for ``home``."""
    return [sys.executable, "-m", "gnomon.cli", "daemon", "start", "--home", str(home), *extra]


def systemd_unit(home: Path) -> str:
    """A systemd *user* unit running the daemon for ``home``."""
    exe = " ".join(daemon_argv(home, []))
    return f"""# ~/.config/systemd/user/gnomon.service
# then: systemctl --user daemon-reload && systemctl --user enable --now gnomon
[Unit]
Description=gnomon job scheduler daemon
After=network-online.target

[Service]
Type=simple
ExecStart={exe}
Restart=on-failure
RestartSec=2
KillSignal=SIGTERM
TimeoutStopSec=60

[Install]
WantedBy=default.target
"""


#: Libraries whose records below WARNING stay out of the daemon's log.
QUIET_LOGGERS = ("httpx", "httpcore")


def setup_logging(log_path: Path, level: str, *, foreground: bool) -> None:
    """Log to ``daemon.log`` (rotated at 10 MB, 5 kept) and, in the foreground, stderr;
    the HTTP client libraries (:data:`QUIET_LOGGERS`) only from WARNING up."""
    import logging
    import logging.handlers

    log_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(log_path, maxBytes=10 << 20, backupCount=5)
    ]
    if foreground:
        handlers.append(logging.StreamHandler(sys.stderr))
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(level.upper())
    for chatty in QUIET_LOGGERS:  # one INFO line per HTTP check/webhook otherwise
        logging.getLogger(chatty).setLevel(logging.WARNING)
