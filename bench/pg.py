"""Benchmarks on PostgreSQL: a fresh database per run on the server ``--store URL`` names
(``postgresql://postgres@127.0.0.1:5432/postgres``), dropped afterwards, and the store
for a location (an SQLite file, or such a database's URL)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from gnomon.runtime.store.daemon_store import DaemonStore
from gnomon.runtime.store.sqlite import SqliteStore
from gnomon.runtime.store.writer import Publish


@contextmanager
def fresh_pg(server: str) -> Iterator[str]:
    """The URL of a new database on ``server``, dropped on exit."""
    import psycopg

    name = f"gnomon_bench_{uuid.uuid4().hex[:12]}"
    parts = urlsplit(server)
    with psycopg.connect(server, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        try:
            yield urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def open_store(
    where: Path | str,
    *,
    observe_commit: Callable[[float], None] | None = None,
    publish: Publish | None = None,
    **sqlite: Any,
) -> DaemonStore:
    """SQLite at a path, or PostgreSQL at a ``postgresql://`` URL."""
    if str(where).startswith("postgresql://"):
        from gnomon.runtime.store.pg import PgStore

        return PgStore(str(where), observe_commit=observe_commit, publish=publish)
    return SqliteStore(str(where), observe_commit=observe_commit, publish=publish, **sqlite)
