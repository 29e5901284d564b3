"""Opening the daemon's store: its audit key, and an integrity check before anything runs.

Every refusal is one line naming the file and what to do (:class:`HomeUnusable`, exit 5):
a database that cannot be opened, a corrupt one (``PRAGMA quick_check``, bounded by
``store.start_check`` seconds so a huge database still starts), or an ``audit.key`` that
is missing or not the one the event log was keyed with.

With ``store.url`` (``--store``, ``$GNOMON_STORE``) set to a ``postgresql://`` URL the
store is a :class:`~gnomon.runtime.store.pg.PgStore` on that database instead of
``<home>/gnomon.db``; the home still holds the audit key, the token and the log. A server
that cannot be reached, or a database another daemon uses, is refused the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gnomon.runtime.config import Config
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.home import Home, HomeUnusable
from gnomon.runtime.store.daemon_store import DaemonStore
from gnomon.runtime.store.sqlite import SqliteStore
from gnomon.runtime.store.urls import safe_url
from gnomon.runtime.store.writer import Publish

ACCEPT = "`gnomon daemon start --new-audit-key` (docs/store.md)"


def open_store(
    home: Home,
    config: Config,
    *,
    new_audit_key: bool = False,
    observe_commit: Callable[[float], None] | None = None,
    publish: Publish | None = None,
    fence: Any = None,
) -> DaemonStore:
    """The home's store, keyed with its audit key and checked (``PRAGMA quick_check``,
    bounded by ``store.start_check``), or the PostgreSQL store of ``store.url``; each
    commit's sealed events go to ``publish``.

    Raises:
        HomeUnusable: the audit key is missing or wrong, or the database is corrupt or
            cannot be opened, or (PostgreSQL) cannot be reached or is in use by another
            daemon (one line naming the file or URL and what to do).

    ``fence`` (PostgreSQL only): the cluster's fence (docs/cluster.md); with it the store
    is not exclusive, so that other daemons may share the database.
    """
    key, created = home.audit_key()
    url = config["store.url"]
    try:
        store: DaemonStore
        if url:
            store = _pg_store(url, key, new_audit_key, not created, observe_commit, publish, fence)
        else:
            store = SqliteStore(
                str(home.db),
                synchronous=config["store.synchronous"].upper(),
                observe_commit=observe_commit,
                publish=publish,
                audit_key=key,
                rekey=new_audit_key,
                expect_anchors=not created,
            )
    except StoreUnavailable as exc:
        if exc.message.startswith("audit key mismatch"):
            raise _key_refused(home, created, store_name(home, url)) from None
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


def _pg_store(
    url: str,
    key: bytes,
    rekey: bool,
    expect_anchors: bool,
    observe_commit: Callable[[float], None] | None,
    publish: Publish | None,
    fence: Any = None,
) -> DaemonStore:
    """The PostgreSQL store (psycopg is the optional ``gnomon[postgres]``).

    Raises:
        StoreUnavailable: psycopg is missing, or the store refused to open.
    """
    try:
        from gnomon.runtime.store.pg import PgStore
    except ImportError as exc:
        raise StoreUnavailable(
            f"store.url names PostgreSQL but psycopg cannot be imported ({exc}):"
            " pip install 'gnomon[postgres]'",
            recoverable=False,
        ) from None
    return PgStore(
        url,
        observe_commit=observe_commit,
        publish=publish,
        audit_key=key,
        rekey=rekey,
        expect_anchors=expect_anchors,
        fence=fence,
        exclusive=fence is None,
    )


def store_name(home: Home, url: str) -> str:
    """What messages and ``daemon status`` call the store: the database file, or the
    URL without its password."""
    return safe_url(url) if url else str(home.db)


def _key_refused(home: Home, created: bool, where: str) -> HomeUnusable:
    """The refusal of a start whose ``audit.key`` does not match the database's chain."""
    fix = f"or start a new key with {ACCEPT}"
    if created:
        home.audit_key_file.unlink(missing_ok=True)  # leave the home as it was
        return HomeUnusable(
            f"{home.audit_key_file} is missing, but the events in {where} are keyed:"
            f" restore audit.key from the backup of this home, {fix}"
        )
    return HomeUnusable(
        f"{home.audit_key_file} is not the key the events in {where} were keyed with:"
        f" restore the matching audit.key from a backup of this home, {fix}"
    )
