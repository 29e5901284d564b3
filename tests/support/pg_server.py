"""A throwaway PostgreSQL server of a test's own, which the test may stop and start.

The shared server (``$GNOMON_TEST_PG_URL``) is never stopped: other tests and sessions use
it. A test that needs the database to go away (``pg_ctl stop -m immediate``) starts its
own cluster here, as ``.ci/postgres.sh`` does where no server answers: Debian's
``/usr/lib/postgresql/*/bin``, ``initdb`` and ``pg_ctl`` run as the ``postgres`` user
(``initdb`` refuses root) on a free port, in a temporary directory owned by that user.
Where that cannot be done (no binaries, no ``postgres`` user, not root) the test is
skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest

USER = "postgres"


def _bin_dir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: p.parts)
    return found[-1].parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@attrs.define
class PgServer:
    """A running throwaway cluster: its URL, and ``stop``/``start`` for fault tests."""

    bin: Path
    dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        """Run a server binary as the postgres user.

        Raises:
            subprocess.CalledProcessError: it failed (its output in the message).
        """
        subprocess.run(
            ["su", USER, "-s", "/bin/sh", "-c", " ".join(f"'{a}'" for a in args)],
            check=True,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> None:
        """``pg_ctl -w start``: returns once the server accepts connections."""
        opts = f"-k {self.dir / 'sock'} -p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres(
            f"{self.bin}/pg_ctl", "-w", "-D", str(self.dir / "data"),
            "-l", str(self.dir / "log"), "-o", opts, "start",
        )  # fmt: skip

    def stop(self, mode: str = "immediate") -> None:
        """``pg_ctl -m MODE stop`` (``immediate``: no shutdown checkpoint, like a crash)."""
        data = str(self.dir / "data")
        self._as_postgres(f"{self.bin}/pg_ctl", "-w", "-D", data, "-m", mode, "stop")

    def log(self) -> str:
        """The server's log (for a failure's report)."""
        try:
            return (self.dir / "log").read_text(errors="replace")
        except OSError:
            return ""


def _unavailable() -> str | None:
    if os.geteuid() != 0:
        return "starting a throwaway PostgreSQL needs root (to run initdb as postgres)"
    try:
        pwd.getpwnam(USER)
    except KeyError:
        return f"no '{USER}' user to run a throwaway PostgreSQL as"
    if _bin_dir() is None:
        return "no PostgreSQL server in /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    return None


@contextlib.contextmanager
def throwaway_server() -> Iterator[PgServer]:
    """A new cluster, started; stopped and removed afterwards. Skips the test with the
    reason when none can be made here."""
    why = _unavailable()
    if why is not None:
        pytest.skip(why)
    bin_dir = _bin_dir()
    assert bin_dir is not None
    root = Path(tempfile.mkdtemp(prefix="gnomon-pg-"))
    (root / "sock").mkdir()
    shutil.chown(root, USER, USER)
    shutil.chown(root / "sock", USER, USER)
    root.chmod(0o700)
    server = PgServer(bin_dir, root, _free_port())
    try:
        try:
            server._as_postgres(
                f"{bin_dir}/initdb", "-D", str(root / "data"), "-U", USER, "-A", "trust",
                "--no-sync", "-E", "UTF8",
            )  # fmt: skip
            server.start()
        except subprocess.CalledProcessError as exc:
            first = (exc.stderr or b"").decode(errors="replace").strip()[:300]
            pytest.skip(f"could not start a throwaway PostgreSQL: {first or exc}")
        yield server
    finally:
        with contextlib.suppress(subprocess.CalledProcessError, subprocess.TimeoutExpired):
            server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
