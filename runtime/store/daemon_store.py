"""The type of the daemon's store: SQLite (the default) or PostgreSQL.

Both classes have the same methods (the ``Store`` protocol plus what the daemon uses:
pages, tokens, switches, the audit chain, the probe); ``psycopg`` is an optional
dependency (``gnomon[postgres]``), so :class:`~gnomon.runtime.store.pg.PgStore` is only
imported for type checking here — :func:`~gnomon.runtime.store.startup.open_store`
imports it when a ``postgresql://`` URL is configured.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from gnomon.runtime.store.sqlite import SqliteStore

if TYPE_CHECKING:
    from gnomon.runtime.store.pg import PgStore

    DaemonStore: TypeAlias = SqliteStore | PgStore
else:
    DaemonStore = SqliteStore  # at run time only a name for annotations
