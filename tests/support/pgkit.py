"""A fresh PostgreSQL database per test (the store contract tests on PostgreSQL).

The server is ``$GNOMON_TEST_PG_URL`` (default ``postgresql://postgres@127.0.0.1:5432/
postgres``: the development and CI machines run one there; ``.ci/postgres.sh`` starts a
throwaway one where none answers). Each test creates its own database and drops it
afterwards; without a reachable server (or without psycopg) the test is skipped with the
reason.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("GNOMON_TEST_PG_URL", DEFAULT_URL)


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database, dropped (with its connections) afterwards; skips
    the test when no server answers."""
    try:
        import psycopg
    except ImportError:  # pragma: no cover - the test extra installs it
        pytest.skip("psycopg is not installed (pip install 'gnomon[postgres]')")
    url = server_url()
    try:
        admin = psycopg.connect(url, autocommit=True, connect_timeout=15)  # not a skip under load
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        pytest.skip(f"no PostgreSQL at {url} (set GNOMON_TEST_PG_URL): {first}")
    name = f"gnomon_test_{uuid.uuid4().hex[:12]}"
    with admin:
        admin.execute(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8' TEMPLATE template0")
        try:
            yield _with_db(url, name)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
