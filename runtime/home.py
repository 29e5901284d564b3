"""The gnomon home: where the store, the daemon's files and the admin token live.

Resolution (CONTRACT §1): ``--home DIR``, else ``$GNOMON_HOME``, else
``$XDG_DATA_HOME/gnomon``, else ``~/.local/share/gnomon``. The directory is created mode
0700; secrets in it (``token``, ``daemon.json``) are 0600.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs


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
    def log(self) -> Path:
        return self.root / "daemon.log"

    @property
    def hooks(self) -> Path:
        return self.root / "hooks"

    def create(self) -> Home:
        """Make the directory (0700) if needed; tighten it if it exists."""
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        return self

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
        write_private(self.daemon_json, json.dumps(dict(data), indent=2) + "\n")

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
    """Write ``text`` atomically to ``path`` with mode 0600."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)
