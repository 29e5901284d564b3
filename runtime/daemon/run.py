"""Running a daemon: lock the home, build it, start the tree, recover, announce, serve
until a signal, then the planned stop (see the package docstring)."""

from __future__ import annotations

import logging
import os
import signal
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from typing import Any

import attrs
import trio

from gnomon.actors.drain import DrainReport, StopJournal, run_drain
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.recovery import recover
from gnomon.runtime import faults, gc_tuning
from gnomon.runtime.daemon.build import Daemon
from gnomon.runtime.daemon.options import DaemonInfo, DaemonOptions
from gnomon.runtime.errors import StoreUnavailable, sole_error
from gnomon.runtime.httpclient import open_client
from gnomon.runtime.job_metrics import restore as restore_job_series
from gnomon.runtime.model.events import EventType
from gnomon.runtime.store import PartitionMoved, UnitRejected
from gnomon.runtime.store.lock import HomeLock
from gnomon.runtime.store.startup import store_name
from gnomon.runtime.supervisor import Supervisor

log = logging.getLogger("gnomon.daemon")
#: Seconds a cluster node fenced while starting waits for a renewal to lift the fence.
FENCED_START_WAIT = 10.0  # well within `daemon start --detach`'s 20 s wait for readiness


async def run_daemon(
    opts: DaemonOptions, *, ready: Callable[[DaemonInfo], None] | None = None
) -> None:
    """Run a daemon until SIGTERM/SIGINT (see the module docstring).

    Raises:
        CannotStart: the home is locked by another daemon, the port is taken, or the
            bind is refused.
        SupervisorGaveUp: the tree could not keep itself alive (exit non-zero).
    """
    home = opts.home.preflight()
    gc_tuning.tune()
    with HomeLock(home.root):
        home.remove_daemon_json()  # the lock is ours: any file left behind is stale
        try:
            async with open_client() as http_client:
                await _serve(Daemon(opts, http_client), ready)
        except BaseExceptionGroup as group:
            raise sole_error(group) from None


async def _serve(daemon: Daemon, ready: Callable[[DaemonInfo], None] | None) -> None:
    home = daemon.opts.home
    boot_id = uuid.uuid4().hex
    info = await daemon.store.begin_boot(boot_id, daemon.clock.now())
    await restore_job_series(daemon.metrics.job_series, daemon.store)
    root = daemon.root()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGQUIT) as signals:
        async with trio.open_nursery() as nursery:
            if daemon.cluster is not None:  # membership first (docs/cluster.md)
                from gnomon.runtime.cluster.setup import join

                await nursery.start(partial(join, daemon.cluster))
                await nursery.start(daemon.relay.run)  # commands between nodes
            await nursery.start(root.run)
            if daemon.link is not None:
                report = await daemon.link.boot(boot_id)
            else:
                report = await recover(
                    daemon.tree.directory, StorePersistence(daemon.store), boot_id=boot_id
                )
            if not daemon.agents.switch.enabled:
                await daemon.agents.switch.pause_all()
            gc_tuning.freeze_boot_objects()
            faults.stall_point("before_started")
            url = daemon.address.get()  # the gateway is bound (root.run started it)
            await _announce_started(
                daemon,
                f"gnomon {version('gnomon')} started",
                url=url,
                pid=os.getpid(),
                previous_clean=info.previous_clean,
                jobs=report.jobs,
                activated=report.activated,
                orphans_killed=report.orphans_killed,
            )
            started = DaemonInfo(
                pid=os.getpid(),
                url=url,
                http=url[:-3].replace("ws", "http", 1),
                started_at=datetime.now(UTC).isoformat(),
                boot_id=boot_id,
                log=str(home.log),
                store=store_name(home, daemon.opts.config["store.url"]),
            )
            home.write_daemon_json(attrs.asdict(started))
            log.info("ready at %s (pid %d)", url, os.getpid())
            if ready is not None:
                ready(started)
            async for signum in signals:
                log.info("signal %d: stopping", signum)
                break
            await _stop(daemon, root, signals, now=signum == signal.SIGQUIT, boot_id=boot_id)
            nursery.cancel_scope.cancel()
    try:
        await daemon.store.end_boot(boot_id, daemon.clock.now())
    except StoreUnavailable as exc:  # the next start treats this boot as unclean
        log.warning("clean stop not recorded: %s", exc.message)
    daemon.store.close()
    home.remove_daemon_json()


async def _announce_started(daemon: Daemon, message: str, **payload: Any) -> None:
    """``daemon.started``; a cluster node that fenced itself while starting (its lease
    lapsed: a long synchronous boot step, the database away for a while) waits for its
    next renewal to lift the fence, retrying every second for up to ``FENCED_START_WAIT``.

    Raises:
        UnitRejected: still fenced after that (the start fails: exit 5, as before).
    """
    deadline = trio.current_time() + FENCED_START_WAIT
    while True:
        try:
            await daemon.announce(EventType.DAEMON_STARTED, message, **payload)
            return
        except PartitionMoved as exc:
            if not daemon.cluster_fenced() or trio.current_time() >= deadline:
                raise
            log.warning("fenced while starting (%s); waiting for the lease to renew", exc.message)
        await trio.sleep(1.0)


async def _stop(daemon: Daemon, root: Supervisor, signals: Any, *, now: bool, boot_id: str) -> None:
    """The planned stop: ``daemon.stopped`` (only logged when the store cannot write it or a
    fenced cluster node's fence refuses it), then the tree stops while running actions get
    ``daemon.drain_timeout`` (none after SIGQUIT or a second SIGINT/SIGTERM) before they
    are interrupted; progress goes to ``stop.json`` and the log (``actors/drain.py``)."""
    hurry = trio.Event()
    if now:
        hurry.set()
    limit = float(daemon.opts.config["daemon.drain_timeout"])
    reporter = StopJournal(
        write=daemon.opts.home.write_stop_json,
        head={"pid": os.getpid(), "boot_id": boot_id},
        last=DrainReport(limit=limit, now=now),
    )

    async def hurry_on_signal() -> None:
        async for signum in signals:
            log.info("signal %d: interrupting running actions now", signum)
            hurry.set()

    async with trio.open_nursery() as helpers:
        helpers.start_soon(hurry_on_signal)
        drain = partial(run_drain, daemon.tree.drain, limit=limit, now=hurry)
        helpers.start_soon(partial(drain, report=reporter.report))
        try:
            await daemon.announce(EventType.DAEMON_STOPPED, "gnomon stopping")
        except (StoreUnavailable, UnitRejected) as exc:
            # a full disk, or a cluster node fenced meanwhile: neither may fail the stop
            log.warning("daemon.stopped not recorded: %s", exc.message)
        daemon.store.health.give_up()  # saves waiting for space stop waiting: drain
        await root.stop()
        helpers.cancel_scope.cancel()
    interrupted = tuple(daemon.tree.drain.interrupted)
    reporter.report(attrs.evolve(reporter.last, waiting=(), interrupted=interrupted), done=True)
