"""Homes and databases a daemon cannot use: each start — in the foreground, detached, or
autostarted by a client — ends with one line naming the file and what to do, exit 5 (2
for a home that is a file), and no traceback. Before, a read-only home printed a Python
traceback, a corrupt database ran (``audit verify``: "internal error: DatabaseError")
and an empty ``gnomon.db`` silently started an empty store."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from support.daemon_proc import RealDaemon, Result, cli_env, gnomon

pytestmark = pytest.mark.slow

HOW = {
    "foreground": ("daemon", "start", "--port", "0"),
    "detached": ("daemon", "start", "--detach", "--port", "0"),
    "autostart": ("jobs",),
}


def start(home: Path, how: str, **env: str) -> Result:
    """Start a daemon the ``how`` way; its result (a daemon that did start is stopped)."""
    extra = {"GNOMON_AUTOSTART": "1", "GNOMON_DAEMON_PORT": "0"} if how == "autostart" else {}
    try:
        return gnomon(home, *HOW[how], env=cli_env(home, **extra, **env), timeout=60)
    finally:
        stop_any(home)


def stop_any(home: Path) -> None:
    """Kill a daemon the test started by mistake (it must not outlive the test)."""
    with contextlib.suppress(OSError, ValueError, KeyError):
        os.kill(int(json.loads((home / "daemon.json").read_text())["pid"]), signal.SIGKILL)


def one_line_error(result: Result, code: int = 5) -> str:
    """Assert the refusal's shape; the error line."""
    assert result.code == code, (result.code, result.out, result.err)
    assert "Traceback" not in result.err
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home a daemon ran in and stopped: jobs whose records spill into overflow pages
    late in the file."""
    home = tmp_path_factory.mktemp("template") / "home"
    daemon = RealDaemon.start(home)
    try:
        for i in range(8):
            made = gnomon(home, "schedule", f"j{i}", "--in", "1h", "--do", f"noop: {'x' * 9000}")
            assert made.code == 0, made.err
    finally:
        daemon.stop()
    return home


@pytest.fixture
def used_home(template: Path, tmp_path: Path) -> Path:
    """A copy of ``template`` for one test."""
    home = tmp_path / "home"
    shutil.copytree(template, home)
    return home


@pytest.fixture
def read_only(used_home: Path) -> Iterator[Path]:
    """``used_home`` on a file system mounted read-only (root ignores file modes)."""
    mount = used_home.parent / "ro"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "--bind", "-o", "ro", str(used_home), str(mount)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot bind-mount read-only here: {done.stderr.strip()}")
    try:
        if os.access(mount, os.W_OK) and os.geteuid() == 0:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(mount)], check=True)
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


@pytest.mark.parametrize("how", HOW)
def test_a_read_only_home_is_refused_in_one_line(read_only: Path, how: str) -> None:
    """A home that cannot be written: the error names it and says what to do."""
    line = one_line_error(start(read_only, how))
    assert f"the gnomon home {read_only} cannot be written (Read-only file system)" in line
    assert "remount it read-write" in line


@pytest.mark.parametrize("how", HOW)
def test_an_empty_database_is_refused_in_one_line(tmp_path: Path, how: str) -> None:
    """A 0-byte gnomon.db is not a fresh start (a new home has no file at all)."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "gnomon.db").write_bytes(b"")
    line = one_line_error(start(home, how))
    assert f"{home / 'gnomon.db'} is empty (0 bytes)" in line
    assert "delete the file" in line
    assert (home / "gnomon.db").stat().st_size == 0


#: What a daemon reads while it starts (the boot index, open runs, tokens, the chain):
#: damage they do not meet is met only at run time.
STARTUP_READS = (
    "SELECT id, name, status, owner, wake_ts, depends_on FROM jobs",
    "SELECT * FROM runs",
    "SELECT * FROM tokens",
    "SELECT * FROM boots",
    "SELECT * FROM meta",
    "SELECT seq, hash FROM events ORDER BY seq DESC LIMIT 1",
)


def _damage_seen(db: Path) -> tuple[bool, bool]:
    """(quick_check sees damage, only a read of the job states meets it)."""
    conn = sqlite3.connect(db)
    try:
        try:
            checked = conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
        except sqlite3.DatabaseError:
            checked = True
        try:
            for query in STARTUP_READS:
                conn.execute(query).fetchall()
        except sqlite3.DatabaseError:
            return checked, False
        try:
            conn.execute("SELECT state FROM jobs").fetchall()
        except sqlite3.DatabaseError:
            return checked, True
        return checked, False
    finally:
        conn.close()


def corrupt_late_page(db: Path, *, only_states: bool = False) -> None:
    """Damage the header of the last page whose damage SQLite's quick_check sees (with
    ``only_states``: one that only a read of the job states meets — an overflow page)."""
    good = db.read_bytes()
    for page in range(len(good) // 4096 - 1, 1, -1):
        bad = bytearray(good)
        bad[page * 4096 : page * 4096 + 64] = b"\xff" * 64
        db.write_bytes(bytes(bad))
        checked, states = _damage_seen(db)
        if checked and (states or not only_states):
            return
    raise AssertionError("no page whose damage quick_check sees")


@pytest.mark.parametrize("how", HOW)
def test_late_page_corruption_is_refused_at_start(used_home: Path, how: str) -> None:
    """The start check (SQLite's quick_check) finds the damaged page before anything runs."""
    db = used_home / "gnomon.db"
    corrupt_late_page(db)
    line = one_line_error(start(used_home, how))
    assert f"database corrupt: {db}: " in line
    assert "restore gnomon.db from a backup" in line


def test_corruption_met_at_run_time_is_an_error_and_a_503(used_home: Path) -> None:
    """With the start check off, the daemon runs; the read that meets the damage answers
    `error: database corrupt: …` (exit 5) and /healthz turns 503 naming it."""
    db = used_home / "gnomon.db"
    corrupt_late_page(db, only_states=True)
    env = cli_env(used_home, GNOMON_STORE_START_CHECK="0")
    daemon = RealDaemon.start(used_home, env=env)
    try:
        line = one_line_error(gnomon(used_home, "jobs", "--all"))
        assert line.startswith(f"error: database corrupt: {db}: ")
        answer = httpx.get(daemon.http + "/healthz", timeout=30)
        assert answer.status_code == 503
        assert answer.json()["reason"].startswith("database corrupt: ")
    finally:
        assert daemon.stop() == 0


def test_a_home_that_is_a_file_is_bad_input(tmp_path: Path) -> None:
    """--home naming a file: exit 2, naming it."""
    home = tmp_path / "file"
    home.write_text("not a directory\n")
    line = one_line_error(gnomon(home, "daemon", "start", "--home", str(home)), code=2)
    assert f"the gnomon home {home} is not a directory" in line
