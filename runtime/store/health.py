"""Whether the store can write, and what it is waiting for when it cannot.

The store's executor reports every storage failure here (:mod:`.errors`); the fault
stays until a write succeeds again (a full disk with space freed), or for good when the
database is corrupt. Engine saves that met a fault wait in :meth:`StoreHealth.
wait_writable` and are retried whole; clients get the fault at once. While a
recoverable fault stands, the writer probes the disk every :data:`RETRY_EVERY` seconds.
"""

from __future__ import annotations

import logging

import trio

from gnomon.runtime.errors import StoreUnavailable

log = logging.getLogger("gnomon.store")
RETRY_EVERY = 1.0  # seconds between the writer's probes while a recoverable fault stands


class StoreHealth:
    """The store's fault, if any (see the module docstring)."""

    def __init__(self) -> None:
        self.fault: StoreUnavailable | None = None
        self._writable = trio.Event()
        self._writable.set()
        self._given_up = False

    @property
    def retrying(self) -> bool:
        """A recoverable fault stands: the writer should probe."""
        return self.fault is not None and self.fault.recoverable

    def failed(self, error: StoreUnavailable) -> None:
        """Record ``error`` (a corruption is never replaced by a milder fault)."""
        if self.fault is None:
            log.error("store unavailable: %s", error.message)
        elif not self.fault.recoverable:
            return
        self.fault = error
        if self._writable.is_set() and not self._given_up:
            self._writable = trio.Event()

    def wrote(self) -> None:
        """A write reached the disk: a recoverable fault is over."""
        if self.fault is not None and self.fault.recoverable:
            log.warning("store writable again (after: %s)", self.fault.message)
            self.fault = None
            self._writable.set()

    def check(self) -> None:
        """Raise the standing fault, if any (a client's write is refused up front).

        Raises:
            StoreUnavailable: the store cannot write now.
        """
        if self.fault is not None:
            raise StoreUnavailable(self.fault.message, recoverable=self.fault.recoverable)

    def give_up(self) -> None:
        """The daemon is stopping: saves waiting for the store stop waiting (and fail)."""
        self._given_up = True
        self._writable.set()

    async def wait_writable(self) -> None:
        """Return once no fault stands (at once when none does).

        Raises:
            StoreUnavailable: the fault, once :meth:`give_up` was called.

        Cancellation: cancellable; nothing is held.
        """
        while self.fault is not None:
            if self._given_up:
                self.check()
            await self._writable.wait()
