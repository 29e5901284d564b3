"""The gnomon home: where the store, the daemon's files and the admin token live.

Resolution (docs/operations.md): ``--home DIR``, else ``$GNOMON_HOME``, else
``$XDG_DATA_HOME/gnomon``, else ``~/.local/share/gnomon``. The directory is created mode
0700; secrets in it (``token``, ``audit.key``, ``daemon.json``) are 0600.

:meth:`Home.preflight` checks, before a daemon starts (in the foreground, detached, or
autostarted by a client), what would otherwise surface as a traceback or a silently
empty store: a home that is not a directory (exit 2), a home that cannot be written, and
a ``gnomon.db`` that is empty or not SQLite (exit 5) — each one line naming the file and
what to do.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from gnomon.runtime.errors import DaemonUnreachable, InvalidInput

SQLITE_HEADER = b"SQLite format 3\x00"
AUDIT_KEY_BYTES = 32
RESTORE = "restore it from a backup of the home (docs/operations.md)"


class HomeUnusable(DaemonUnreachable):
    """The home or its database cannot be used; a daemon cannot start (exit 5)."""


def resolve_home(flag: str | None = None, env: Mapping[str, str] | None = None) -> Path:
    """The home directory per the precedence above (not created)."""
    env = os.environ if env is None else env
    if flag:
        return Path(flag).expanduser().resolve()
    if env.get("GNOMON_HOME"):
        return Path(env["GNOMON_HOME"]).expanduser().resolve()
    data = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return (Path(data).expanduser() / "gnomon").resolve()


@attrs.frozen
class Home:
    """Paths inside one home."""

    root: Path

    @property
    def db(self) -> Path:
        return self.root / "gnomon.db"

    @property
    def daemon_json(self) -> Path:
        return self.root / "daemon.json"

    @property
    def token_file(self) -> Path:
        return self.root / "token"

    @property
    def config_toml(self) -> Path:
        return self.root / "config.toml"

    @property
    def policy_toml(self) -> Path:
        return self.root / "policy.toml"

    @property
    def audit_key_file(self) -> Path:
        return self.root / "audit.key"

    @property
    def log(self) -> Path:
        return self.root / "daemon.log"

    @property
    def hooks(self) -> Path:
        return self.root / "hooks"

    def create(self) -> Home:
        """Make the directory (0700) if needed; tighten it if it exists.

        Raises:
            InvalidInput: the home is a file (exit 2).
            HomeUnusable: it cannot be created or written.
        """
        if self.root.exists() and not self.root.is_dir():
            raise InvalidInput(
                f"the gnomon home {self.root} is not a directory: pass a directory with"
                " --home or $GNOMON_HOME (it is created if missing)",
                token=str(self.root),
            )
        try:
            self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
            if self.root.stat().st_mode & 0o777 != 0o700:
                os.chmod(self.root, 0o700)
        except OSError as exc:
            raise self._unwritable(exc) from None
        return self

    def preflight(self) -> Home:
        """:meth:`create`, then check that the home takes a write and that an existing
        ``gnomon.db`` is a non-empty SQLite file (a missing one is a fresh start).

        Raises:
            InvalidInput: the home is a file (exit 2).
            HomeUnusable: anything else that would stop a daemon (exit 5).
        """
        self.create()
        probe = self.root / f".write-test.{os.getpid()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.close(fd)
            probe.unlink()
        except OSError as exc:
            raise self._unwritable(exc) from None
        self._check_db()
        return self

    def _unwritable(self, exc: OSError) -> HomeUnusable:
        why = exc.strerror or str(exc)
        return HomeUnusable(
            f"the gnomon home {self.root} cannot be written ({why}); gnomon keeps its"
            " database, lock and log there: remount it read-write or fix its permissions,"
            " or pass another --home"
        )

    def _check_db(self) -> None:
        db = self.db
        try:
            with open(db, "rb") as f:
                header = f.read(len(SQLITE_HEADER))
        except FileNotFoundError:
            return  # a new home: the daemon creates it
        except OSError as exc:
            raise HomeUnusable(
                f"{db} cannot be read ({exc.strerror or exc}): fix its permissions"
            ) from None
        if not header:
            raise HomeUnusable(
                f"{db} is empty (0 bytes), so it holds no gnomon data: if this home is new,"
                f" delete the file and start again; otherwise {RESTORE}"
            )
        if header != SQLITE_HEADER:
            raise HomeUnusable(
                f"{db} is not an SQLite database (bad header): {RESTORE}, or move it aside"
                " to start with an empty store"
            )

    def audit_key(self) -> tuple[bytes, bool]:
        """The key the event log is MAC'd with, generated on first use (0600); and
        whether this call created it.

        Raises:
            HomeUnusable: the file exists but does not hold a key.
        """
        try:
            text = self.audit_key_file.read_text().strip()
        except FileNotFoundError:
            key = secrets.token_bytes(AUDIT_KEY_BYTES)
            write_private(self.audit_key_file, key.hex() + "\n")
            return key, True
        try:
            key = bytes.fromhex(text)
        except ValueError:
            key = b""
        if len(key) != AUDIT_KEY_BYTES:
            raise HomeUnusable(
                f"{self.audit_key_file} does not hold an audit key ({AUDIT_KEY_BYTES} bytes"
                f" in hex): {RESTORE}"
            )
        return key, False

    def admin_token(self) -> str:
        """The admin token, generated on first use (0600)."""
        try:
            token = self.token_file.read_text().strip()
        except FileNotFoundError:
            token = ""
        if token:
            return token
        token = secrets.token_urlsafe(32)
        write_private(self.token_file, token + "\n")
        return token

    def read_token(self) -> str | None:
        """The admin token if it exists (clients never create it)."""
        try:
            return self.token_file.read_text().strip() or None
        except OSError:
            return None

    def read_daemon_json(self) -> dict[str, Any] | None:
        """``daemon.json`` (pid, url, started_at…), or ``None`` if absent or unreadable."""
        try:
            data = json.loads(self.daemon_json.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def write_daemon_json(self, data: Mapping[str, Any]) -> None:
        """Write ``daemon.json`` (0600).

        Raises:
            HomeUnusable: it cannot be written (a full disk): clients could not find the
                daemon.
        """
        try:
            write_private(self.daemon_json, json.dumps(dict(data), indent=2) + "\n")
        except OSError as exc:
            raise HomeUnusable(
                f"{self.daemon_json} cannot be written ({exc.strerror or exc}): free space"
                f" on {self.root} or fix its permissions"
            ) from None

    def remove_daemon_json(self) -> None:
        self.daemon_json.unlink(missing_ok=True)

    @property
    def stop_json(self) -> Path:
        """The last planned stop's progress: what it waits for, what it interrupted
        (written while the daemon stops, left behind for ``gnomon daemon stop``)."""
        return self.root / "stop.json"

    def read_stop_json(self, pid: int) -> dict[str, Any] | None:
        """``stop.json`` of the daemon ``pid``, or ``None`` (absent, unreadable, older)."""
        try:
            data = json.loads(self.stop_json.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) and data.get("pid") == pid else None

    def write_stop_json(self, data: Mapping[str, Any]) -> None:
        write_private(self.stop_json, json.dumps(dict(data), indent=2) + "\n")


def write_private(path: Path, text: str) -> None:
    """Write ``text`` atomically to ``path`` with mode 0600.

    Raises:
        OSError: it could not be written (a full disk); no temporary file is left.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
