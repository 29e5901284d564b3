"""Opening the daemon's store: its audit key, and an integrity check before anything runs.

Every refusal is one line naming the file and what to do (:class:`HomeUnusable`, exit 5):
a database that cannot be opened, a corrupt one (``PRAGMA quick_check``, bounded by
``store.start_check`` seconds so a huge database still starts), or an ``audit.key`` that
is missing or not the one the event log was keyed with.
"""

from __future__ import annotations

from collections.abc import Callable

from gnomon.runtime.config import Config
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.home import Home, HomeUnusable
from gnomon.runtime.store.sqlite import SqliteStore

ACCEPT = "`gnomon daemon start --new-audit-key` (docs/store.md)"


def open_store(
    home: Home,
    config: Config,
    *,
    new_audit_key: bool = False,
    observe_commit: Callable[[float], None] | None = None,
) -> SqliteStore:
    """The home's store, keyed with its audit key and checked (``PRAGMA quick_check``,
    bounded by ``store.start_check``).

    Raises:
        HomeUnusable: the audit key is missing or wrong, or the database is corrupt or
            cannot be opened (one line naming the file and what to do).
    """
    key, created = home.audit_key()
    try:
        store = SqliteStore(
            str(home.db),
            synchronous=config["store.synchronous"].upper(),
            observe_commit=observe_commit,
            audit_key=key,
            rekey=new_audit_key,
            expect_anchors=not created,
        )
    except StoreUnavailable as exc:
        if exc.message.startswith("audit key mismatch"):
            raise _key_refused(home, created) from None
        if exc.message.startswith("audit anchors missing"):
            raise HomeUnusable(f"{exc.message}; {ACCEPT} accepts it as it is") from None
        raise HomeUnusable(exc.message) from None
    try:
        if config["store.start_check"] > 0:
            store.check_integrity(config["store.start_check"])
    except StoreUnavailable as exc:
        store.close()
        raise HomeUnusable(exc.message) from None
    return store


def _key_refused(home: Home, created: bool) -> HomeUnusable:
    """The refusal of a start whose ``audit.key`` does not match the database's chain."""
    fix = f"or start a new key with {ACCEPT}"
    if created:
        home.audit_key_file.unlink(missing_ok=True)  # leave the home as it was
        return HomeUnusable(
            f"{home.audit_key_file} is missing, but the events in {home.db} are keyed:"
            f" restore audit.key from the backup of this home, {fix}"
        )
    return HomeUnusable(
        f"{home.audit_key_file} is not the key the events in {home.db} were keyed with:"
        f" restore the matching audit.key from a backup of this home, {fix}"
    )
