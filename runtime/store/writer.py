"""The stores' writer actor: group commit over two lanes (shared by SQLite and PostgreSQL).

A store subclasses :class:`GroupWriter` and supplies :meth:`GroupWriter._write_units`,
which writes a batch of units in one transaction on the store's own connection (a worker
thread) and returns each unit's sealed events or its :class:`FireAlreadyClaimed` (or any
other per-unit refusal, such as a fence's :class:`UnitRejected`).

Two lanes feed the writer. Ordinary units are requests in its bounded mailbox (FIFO;
senders wait for room). Urgent units (``commit(..., urgent=True)``) go to a deque the
store owns, which the writer empties first: each transaction takes every waiting urgent
unit (up to :data:`MAX_BATCH`) plus at most :data:`URGENT_ORDINARY` ordinary ones, or up
to :data:`MAX_BATCH` ordinary ones when no urgent unit waits. An idle writer is woken by
a marker in its mailbox. Like the mailbox, the deque survives a restart of the writer.

Storage failures are no crash: the store's executor turns them into
:class:`~gnomon.runtime.errors.StoreUnavailable`, which :class:`~gnomon.runtime.store.
health.StoreHealth` records; the writer fails the batch's callers with it and, while the
fault is recoverable, probes the store every second until a write succeeds again.

Cancellation: a cancelled caller of ``commit`` abandons the answer, not the write.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import trio

from gnomon.runtime.actor import ActorContext, ActorRef, Request, crash_error
from gnomon.runtime.errors import ActorGone, GnomonError, ShuttingDown, StoreUnavailable
from gnomon.runtime.model.events import Event
from gnomon.runtime.store import Changes
from gnomon.runtime.store.health import RETRY_EVERY, StoreHealth
from gnomon.runtime.supervisor import ChildSpec, Restart

MAX_BATCH = 256
URGENT_ORDINARY = 64  # ordinary units joining a transaction that carries urgent ones
Publish = Callable[[Sequence[Event]], None]
#: One unit's outcome: its sealed events, or the error that refused it alone.
UnitResult = tuple[Event, ...] | GnomonError


@attrs.frozen(kw_only=True)
class _Commit(Request[tuple[Event, ...]]):
    changes: Changes

    @property
    def units(self) -> tuple[Changes, ...]:
        return (self.changes,)

    def answer(self, results: Sequence[UnitResult]) -> None:
        (result,) = results
        if isinstance(result, GnomonError):
            self.reply.fail(result)
        else:
            self.reply.send(result)


@attrs.frozen(kw_only=True)
class _CommitMany(Request[list[UnitResult]]):
    """Independent units that must share one transaction (:meth:`GroupWriter.commit_many`)."""

    units: tuple[Changes, ...]

    def answer(self, results: Sequence[UnitResult]) -> None:
        self.reply.send(list(results))


_Unit = _Commit | _CommitMany


class _Wake:
    """Sent to an idle writer when an urgent unit arrives (skipped when drained)."""


_WAKE = _Wake()


class GroupWriter:
    """The writer half of a store (see the module docstring). Subclasses call
    :meth:`_init_writer` in their constructor and implement :meth:`_write_units`."""

    health: StoreHealth
    boot_id: str

    def _init_writer(
        self,
        publish: Publish | None,
        observe_commit: Callable[[float], None] | None,
        committed_seq: int,
    ) -> None:
        self._committed_seq = committed_seq
        self._publish = publish or (lambda events: None)
        self._observe = observe_commit or (lambda seconds: None)
        self.boot_id = "unbooted"
        self.transactions = 0
        self._writer: ActorRef[Any] | None = None
        self._urgent: deque[_Unit] = deque()
        self._idle = False  # the writer waits in its mailbox
        self._woken = False  # a _WAKE is on its way to the idle writer

    async def _write_units(self, units: list[Changes]) -> tuple[list[UnitResult], int]:
        """Write ``units`` in one transaction; each unit's result and the last committed
        ``seq`` after it. An empty list is the health probe: it must prove a write.

        Raises:
            StoreUnavailable: the store failed; nothing was written.
        """
        raise NotImplementedError

    async def _when_idle(self) -> None:
        """Called when the writer's lanes are empty, before it waits for the next unit:
        upkeep that would delay a commit (SQLite: the rest of a WAL checkpoint). A unit
        sent meanwhile waits for it. Must not raise (a store records its own faults)."""

    def _on_fault(self) -> None:
        """Wake an idle writer: it probes the store while a fault stands."""
        writer = self._writer
        if writer is not None and self._idle and not self._woken:
            # Fails only when the mailbox is full, and then the writer is not idle for long.
            self._woken = writer.try_tell(_WAKE)

    def writer_spec(self, *, restart: Restart = Restart.PERMANENT) -> ChildSpec:
        """The writer actor's child spec (kind and id ``store``)."""
        return ChildSpec(
            id="store",
            kind="store",
            start=self._writer_actor,
            restart=restart,
            mailbox_size=MAX_BATCH,
            shutdown=30.0,
        )

    async def _writer_actor(self, ctx: ActorContext[Any]) -> None:
        self._writer = ctx.ref
        try:
            while not ctx.stop_requested:
                first: object = None
                if not self._urgent and not ctx.inbox.depth:
                    await self._when_idle()
                if not self._urgent:
                    self._idle = True
                    retry = self.health.retrying
                    until = trio.current_time() + RETRY_EVERY if retry else math.inf
                    try:
                        first = await ctx.inbox.receive_until(until, draining=True)
                    finally:
                        self._idle = self._woken = False
                    if first is None and retry and not self._urgent:
                        await self._probe()
                        continue
                await self._commit_next(ctx, first)
            while await self._commit_next(ctx, None):  # asked to stop: commit both lanes
                pass
        finally:
            self._writer = None
            if ctx.stop_requested:  # cut short (shutdown timeout): answer every unit
                gone = ActorGone(f"actor {ctx.ref.path} stopped before answering")
                while self._urgent:
                    self._urgent.popleft().reply.fail(gone)

    async def _commit_next(self, ctx: ActorContext[Any], first: object) -> bool:
        """Commit the next transaction: waiting urgent units first, then ordinary ones
        from the mailbox (``first`` already received). Returns ``False`` if none waited.

        Raises whatever the commit raised, after failing the urgent units in hand (the
        kernel answers the ordinary ones, which it saw received).
        """
        urgent: list[_Unit] = []
        size = 0  # units in the transaction (a commit_many counts all of its own)
        while self._urgent and (not urgent or size < MAX_BATCH):
            urgent.append(self._urgent.popleft())
            size += len(urgent[-1].units)
        batch = list(urgent)
        if isinstance(first, _Commit | _CommitMany):
            batch.append(first)
            size += len(first.units)
        limit = size + (URGENT_ORDINARY if urgent else MAX_BATCH)
        while size < limit:
            try:
                msg = ctx.inbox.receive_nowait()
            except trio.WouldBlock:
                break
            if isinstance(msg, _Commit | _CommitMany):
                batch.append(msg)
                size += len(msg.units)
        if not batch:
            return False
        try:
            await self._commit_batch(batch)
        except StoreUnavailable as exc:  # recorded by the executor; the writer lives on
            for msg in batch:
                if not msg.reply.done:
                    msg.reply.fail(StoreUnavailable(exc.message, recoverable=exc.recoverable))
            return True
        except BaseException as exc:
            error: Exception = (
                crash_error(ctx.ref.path, exc)
                if isinstance(exc, Exception)
                else ActorGone(f"actor {ctx.ref.path} stopped before answering")
            )
            for msg in urgent:
                if not msg.reply.done:
                    msg.reply.fail(error)
            raise
        return True

    async def _commit_batch(self, batch: list[_Unit]) -> None:
        started = time.perf_counter()
        units = [unit for msg in batch for unit in msg.units]
        results, self._committed_seq = await self._write_units(units)
        self.transactions += 1
        self.health.wrote()
        self._observe(time.perf_counter() - started)
        at = 0
        for msg in batch:
            msg.answer(results[at : at + len(msg.units)])
            at += len(msg.units)
        sealed = [e for r in results if not isinstance(r, GnomonError) for e in r]
        if sealed:
            self._publish(sealed)

    async def commit(self, changes: Changes, *, urgent: bool = False) -> tuple[Event, ...]:
        """Write ``changes`` atomically (group-committed); see :class:`~gnomon.runtime.store.Store`.

        ``urgent`` units skip the queue of ordinary ones: they enter the writer's next
        transaction. Each caller's own commits stay in order as long as it awaits each
        one before the next.

        Raises:
            FireAlreadyClaimed: a claim existed; nothing of ``changes`` was written.
            UnitRejected: the store's fence refused the unit; nothing of it was written.
            ShuttingDown: the writer is not running.
            ActorCrashed: the transaction failed (nothing of its units was written).
        """
        if not changes:
            return ()
        writer = self._writer
        if writer is None:
            raise ShuttingDown("the store is not running")
        msg = _Commit(changes=changes)
        if not urgent:
            return await writer.ask(msg, timeout=None)
        self._urgent.append(msg)
        self._on_fault()
        return await msg.reply.wait()

    async def commit_many(
        self, units: Sequence[Changes], *, urgent: bool = False
    ) -> list[UnitResult]:
        """Write independent ``units`` in *one* transaction, each on its own; see
        :meth:`~gnomon.runtime.store.Store.commit_many`. Empty units are answered ``()``
        without a write.

        Raises:
            ShuttingDown: the writer is not running.
            StoreUnavailable: the store failed; nothing of the units was written.
            ActorCrashed: the transaction failed (nothing of its units was written).
        """
        writing = tuple(unit for unit in units if unit)
        if not writing:
            return [() for _ in units]
        writer = self._writer
        if writer is None:
            raise ShuttingDown("the store is not running")
        msg = _CommitMany(units=writing)
        results: list[UnitResult]
        if urgent:
            self._urgent.append(msg)
            self._on_fault()
            results = await msg.reply.wait()
        else:
            results = await writer.ask(msg, timeout=None)
        written = iter(results)
        return [next(written) if unit else () for unit in units]

    async def _probe(self) -> None:
        """The writer's own probe while a fault stands (a failure stays recorded)."""
        with contextlib.suppress(StoreUnavailable):
            await self._commit_batch([])

    async def probe(self) -> None:
        """Write through the writer, in its urgent lane: a timestamp in ``meta`` when
        nothing else shares the transaction (``/healthz``'s ``store_writable``).

        Raises:
            StoreUnavailable: the write failed (the fault is recorded).
            ShuttingDown: the writer is not running.
            ActorCrashed: the transaction failed otherwise.
        """
        if self._writer is None:
            raise ShuttingDown("the store is not running")
        msg = _Commit(changes=Changes())
        self._urgent.append(msg)
        self._on_fault()
        await msg.reply.wait()

    async def problem(self, timeout: float = 5.0) -> str | None:
        """Why the store cannot write now, or ``None`` when a probe write just succeeded.

        Cancellation: the probe stays queued and is written later; nothing is lost.
        """
        if self.health.fault is not None:
            return self.health.fault.message
        try:
            with trio.fail_after(timeout):
                await self.probe()
        except trio.TooSlowError:
            return f"the store's writer did not answer a probe within {timeout:g} s"
        except GnomonError as exc:
            return exc.message
        return None

    async def wait_writable(self) -> None:
        """Return once the store has no standing fault (see :class:`StoreHealth`).

        Raises:
            StoreUnavailable: the fault, when the daemon is stopping (``health.give_up``).
        """
        await self.health.wait_writable()

    async def last_seq(self) -> int:
        """The ``seq`` of the last *committed* event (never one of a batch in flight)."""
        return self._committed_seq
