"""A fresh PostgreSQL database per test, on the server at ``GNOMON_TEST_PG``
(default ``127.0.0.1:5432``, user ``postgres``, trust auth); tests skip with the reason
when none is reachable."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

ADDRESS = os.environ.get("GNOMON_TEST_PG", "127.0.0.1:5432")
HOST, _, PORT = ADDRESS.rpartition(":")


def dsn(dbname: str = "postgres", *, host: str = HOST, port: int | str = PORT) -> str:
    return f"host={host} port={port} user=postgres dbname={dbname}"


def reachable() -> bool:
    try:
        with socket.create_connection((HOST, int(PORT)), timeout=0.5):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    """Skip the calling test when no PostgreSQL listens at :data:`ADDRESS`."""
    if not reachable():
        pytest.skip(f"no PostgreSQL reachable at {ADDRESS} (set GNOMON_TEST_PG=host:port)")
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install '.[test]')")


@contextmanager
def fresh_database(prefix: str = "gnomon_test") -> Iterator[str]:
    """Create a database of its own, yield its name, drop it (connections and all)."""
    import psycopg

    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(dsn(), autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    try:
        yield name
    finally:
        with psycopg.connect(dsn(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
