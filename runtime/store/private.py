"""The database files are private to the daemon's user (mode 0600).

The store holds every job's spec with its real secrets (webhook headers, ``--env``
values), so ``gnomon.db`` and its ``-wal``/``-shm`` files must not be readable by other
users whatever the umask: :func:`private_files` tightens existing files to 0600 and
opens new ones under umask 077 (SQLite gives the ``-wal``/``-shm`` files the database's
own mode). See ``docs/security.md`` (Secrets).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger("gnomon.store")

MODE = 0o600
SUFFIXES = ("", "-wal", "-shm", "-journal")


@contextmanager
def private_files(path: str) -> Iterator[None]:
    """Around opening the database at ``path``: existing files become 0600, files created
    meanwhile are 0600 (the process umask is 077 for the duration; it is process-wide, so
    a file another thread creates meanwhile is private too, never more open).

    A file we cannot chmod (not ours) is logged, not fatal: SQLite reports what matters.
    """
    if path == ":memory:" or path.startswith("file:"):
        yield
        return
    for suffix in SUFFIXES:
        _tighten(path + suffix)
    old = os.umask(0o077)
    try:
        yield
    finally:
        os.umask(old)
    for suffix in SUFFIXES:
        _tighten(path + suffix)


def _tighten(name: str) -> None:
    try:
        if os.stat(name).st_mode & 0o777 != MODE:
            os.chmod(name, MODE)
    except FileNotFoundError:
        return
    except OSError as exc:
        log.warning("cannot make %s private (mode 0600): %s", name, exc)
