"""Fixtures shared by the cluster tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.cluster_pair import Pair
from support.pgkit import fresh_database


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    """Two clustered daemons on a fresh database (skips where no server answers)."""
    with fresh_database() as url:
        both = Pair(tmp_path, url)
        try:
            yield both
        finally:
            both.stop()
