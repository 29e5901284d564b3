"""SQLite's storage failures as :class:`~gnomon.runtime.errors.StoreUnavailable`.

A full disk, a read-only file system, an I/O error or a corrupt page is not a bug of
gnomon: the store reports it to its callers with a message that starts with the kind and
names the file (``disk full: /home/me/.gnomon/gnomon.db: …``), marks itself unhealthy
(``/healthz`` answers 503 with the message as its reason) and keeps running. Errors that
are not about storage (a constraint, a misuse of the API) are left alone: they are bugs.
"""

from __future__ import annotations

import sqlite3

from gnomon.runtime.errors import StoreUnavailable

RESTORE = "restore gnomon.db from a backup, with the daemon stopped (docs/operations.md)"

#: SQLite primary result code -> (kind, what to do, recoverable by itself)
KINDS: dict[str, tuple[str, str, bool]] = {
    "SQLITE_FULL": (
        "disk full",
        "writes are refused until space is freed; gnomon retries by itself",
        True,
    ),
    "SQLITE_IOERR": (
        "disk I/O error",
        "writes are refused until the disk answers again; check the disk and the kernel log",
        True,
    ),
    "SQLITE_READONLY": (
        "read-only",
        "the database cannot be written; remount the home read-write or fix its permissions",
        True,
    ),
    "SQLITE_CANTOPEN": (
        "cannot open",
        "check that the home and its files exist and are writable",
        True,
    ),
    "SQLITE_BUSY": (
        "database locked",
        "another process holds a write lock on the database; close it",
        True,
    ),
    "SQLITE_LOCKED": (
        "database locked",
        "another process holds a write lock on the database; close it",
        True,
    ),
    "SQLITE_CORRUPT": ("database corrupt", RESTORE, False),
    "SQLITE_NOTADB": ("database corrupt", RESTORE, False),
}


def primary_code(exc: sqlite3.Error) -> str:
    """``SQLITE_IOERR`` for ``SQLITE_IOERR_WRITE`` and the like ("" when unknown)."""
    name = str(getattr(exc, "sqlite_errorname", "") or "")
    parts = name.split("_")
    return "_".join(parts[:2]) if len(parts) >= 2 else name


def storage_error(exc: BaseException, path: str) -> StoreUnavailable | None:
    """The :class:`StoreUnavailable` for ``exc`` if it is a storage failure, else ``None``."""
    if not isinstance(exc, sqlite3.Error):
        return None
    if isinstance(exc, sqlite3.OperationalError) and "Could not decode to UTF-8" in str(exc):
        # gnomon writes UTF-8 only: undecodable text is a damaged page (no header check
        # sees it); name the column, not the damaged text
        return StoreUnavailable(
            f"database corrupt: {path}: {str(exc).split(' with text', 1)[0]}; {RESTORE}",
            recoverable=False,
        )
    kind = KINDS.get(primary_code(exc))
    if kind is None:
        return None
    name, advice, recoverable = kind
    return StoreUnavailable(f"{name}: {path}: {exc}; {advice}", recoverable=recoverable)
