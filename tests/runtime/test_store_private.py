"""The database files are private (mode 0600) whatever the umask: created so, and an
existing database (with its -wal/-shm files) is tightened when the store opens it."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gnomon.runtime.store.sqlite import SqliteStore


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A permissive umask (022), restored afterwards."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def modes(folder: Path) -> dict[str, int]:
    return {f.name: stat.S_IMODE(f.stat().st_mode) for f in sorted(folder.glob("gnomon.db*"))}


def test_a_new_database_and_its_wal_files_are_0600(tmp_path: Path, open_umask: None) -> None:
    """Under umask 022 the store still creates gnomon.db, -wal and -shm as 0600, and the
    process umask is restored."""
    store = SqliteStore(str(tmp_path / "gnomon.db"), inline=True)
    try:
        assert set(modes(tmp_path)) >= {"gnomon.db", "gnomon.db-wal", "gnomon.db-shm"}
        assert set(modes(tmp_path).values()) == {0o600}
        assert os.umask(0o022) == 0o022
    finally:
        store.close()


def test_an_existing_open_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    """A database left 0644 by an older gnomon (its WAL files too) becomes 0600."""
    path = tmp_path / "gnomon.db"
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x)")
    for name in ("gnomon.db", "gnomon.db-wal", "gnomon.db-shm"):
        (tmp_path / name).chmod(0o644)
    store = SqliteStore(str(path), inline=True)
    try:
        assert set(modes(tmp_path).values()) == {0o600}
    finally:
        store.close()
        conn.close()
