"""The settings every node of a cluster shares: tokens and switches (the agents' kill
switch, the exclusion calendars, the cluster's shell policy), reloaded on every node
within about a second of a change through any node (docs/cluster.md, "What is global").

Every change of a token or a switch commits ``NOTIFY gnomon_settings``
(runtime/store/pg_misc.py). A :class:`SettingsWatcher` LISTENs for it on a connection of
its own (:func:`~.links.listen_forever`, natively on the trio thread) and, when woken and
at least every :data:`CATCH_UP` second whatever woke it, reads the settings' *mark* (the
newest writing transaction and row count of each table, :func:`pg_misc.settings_mark`)
on another connection in a worker thread; when the mark changed, it reads every token and
switch and hands them to ``apply``. The catch-up is what makes a lost NOTIFY (a dropped
listening connection, a change made in SQL by hand) cost at most a second: a revoked
token cannot stay valid on a node because its notification was missed.

A read that raced with a change made through this very node (``generation`` moved while
it ran) is thrown away and made again, so a node never goes back to the settings before
its own change. Database errors never escape: the watcher logs the outage once and reads
again at the next catch-up on a new connection. Cancellation: leaving the actor abandons
a read in flight (its thread closes the connection).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import psycopg
import trio

from gnomon.runtime.cluster.links import BoundedConnection, listen_forever
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.store import pg_misc
from gnomon.runtime.supervisor import ChildSpec

log = logging.getLogger(__name__)
#: Seconds between two looks at the mark (a lost NOTIFY costs at most this much delay).
CATCH_UP = 1.0
#: Seconds before a dropped listening connection is made again.
RECONNECT = 1.0
#: The most seconds one read may take.
READ_LIMIT = 10.0


@attrs.frozen(kw_only=True)
class Shared:
    """Every token and every stored switch, as read from the database."""

    tokens: tuple[TokenRecord, ...]
    switches: dict[str, str]


def read_shared(conn: psycopg.Connection[Any]) -> Shared:
    """Every token and switch (synchronous; a worker thread)."""
    return Shared(tokens=tuple(pg_misc.tokens(conn)), switches=pg_misc.switches(conn))


Apply = Callable[[Shared], Awaitable[None]]


class SettingsWatcher:
    """One node's watcher (see the module docstring).

    Args:
        dsn: the cluster database.
        apply: takes the settings just read (never raises; its own errors are its own).
        generation: a number that moves whenever this node changes a setting itself.
        catch_up: seconds between two looks at the mark.
    """

    def __init__(
        self,
        dsn: str,
        *,
        apply: Apply,
        generation: Callable[[], int],
        catch_up: float = CATCH_UP,
    ) -> None:
        self.dsn = dsn
        self._apply = apply
        self._generation = generation
        self.catch_up = catch_up
        self._db = BoundedConnection(dsn, READ_LIMIT)
        self._wake = trio.Event()
        self._mark: str | None = None
        self._failing = False
        self.reloads = 0  # settings read and applied (tests, diagnostics)

    def spec(self) -> ChildSpec:
        """The watcher's child spec (kind and id ``settings``)."""
        return ChildSpec(id="settings", kind="settings", start=self.run, shutdown=2.0)

    async def run(self, ctx: Any) -> None:
        """The actor (:meth:`spec`): listen and follow until the supervisor stops it."""
        try:
            async with trio.open_nursery() as nursery:
                channel = pg_misc.SETTINGS_CHANNEL
                nursery.start_soon(listen_forever, self.dsn, channel, self.wake, RECONNECT)
                nursery.start_soon(self._follow)
                ctx.ready()
                await ctx.wait_stop_requested()
                nursery.cancel_scope.cancel()
        finally:
            self._db.close()

    def wake(self) -> None:
        """Look at the mark now (a NOTIFY arrived)."""
        self._wake.set()

    async def _follow(self) -> None:
        while True:
            with trio.move_on_after(self.catch_up):
                await self._wake.wait()
            self._wake = trio.Event()  # a NOTIFY during the read below looks again at once
            await self.check()

    async def check(self) -> bool:
        """Read the settings if their mark moved, and apply them; whether it did."""
        try:
            mark = await self._db(pg_misc.settings_mark)
            if mark == self._mark:
                self._recovered()
                return False
            while True:
                before = self._generation()
                shared = await self._db(read_shared)
                if self._generation() == before:
                    break  # else this node changed a setting meanwhile: read again
        except (psycopg.Error, OSError, trio.TooSlowError) as exc:
            level = logging.DEBUG if self._failing else logging.WARNING
            log.log(level, "shared settings: reading failed (retrying): %s", exc)
            self._failing = True
            return False
        self._recovered()
        self._mark = mark
        self.reloads += 1
        await self._apply(shared)
        return True

    def _recovered(self) -> None:
        if self._failing:
            log.warning("shared settings: reading again")
        self._failing = False
