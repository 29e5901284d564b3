"""The ``db`` fixture: where a store under test lives, once per store (SQLite, PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.pgkit import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An SQLite file in the test's directory, or a fresh PostgreSQL database's URL
    (skipped with the reason where no server answers)."""
    if request.param == "sqlite":
        yield str(tmp_path / "g.db")
        return
    with fresh_database() as url:
        yield url
