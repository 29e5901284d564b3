"""The composition root: builds the daemon's supervisor tree and runs it.

The only ``gnomon.runtime`` module that imports ``gnomon.actors`` (the dependency rule).

::

    root      one_for_all, intensity 0 — a gave-up child ends the process non-zero
    ├── infra  rest_for_one, 3/60 s: store writer, retention
    ├── core   the engine (actors/tree.py)
    └── edge   one_for_one, 5/60 s: the gateway (HTTP + WebSocket on one port)

Start: lock the home (a second daemon is refused naming the first), open the store, begin
a boot, start the tree, recover (index, orphans, activations), announce
``daemon.started``, write ``daemon.json``. Stop (SIGTERM/SIGINT; SIGQUIT for ``--now``):
``daemon.stopped``, then the tree stops in reverse order — the gateway closes, job actors
drain (running actions get ``daemon.drain_timeout``, then are interrupted: killed and
recorded ``interrupted``, re-run at the next start; progress in ``stop.json``; waits stay
persisted as waiting), the store writer commits what is queued — the boot is marked
clean, ``daemon.json`` removed, the lock released.
"""

from __future__ import annotations

import errno
import getpass
import logging
import os
import signal
import ssl
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any

import attrs
import trio

from gnomon.actors.actions.llm_prompt import stored_spend
from gnomon.actors.actions.slash_cmd import slash_handler
from gnomon.actors.agents import Agents, AgentSwitch
from gnomon.actors.calendars import SWITCH as CALENDARS
from gnomon.actors.calendars import ExclusionBook
from gnomon.actors.core.breaker_keys import job_action_key, job_condition_key
from gnomon.actors.drain import DrainReport, StopJournal, run_drain
from gnomon.actors.evaluators import Evaluators
from gnomon.actors.execution import RunContext
from gnomon.actors.executors import Executors
from gnomon.actors.methods.context import MethodContext
from gnomon.actors.partitions import PartitionLink
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.policy import ShellPolicy
from gnomon.actors.recovery import recover
from gnomon.actors.service import Service
from gnomon.actors.settings_from_config import engine_config, exec_settings
from gnomon.actors.token_book import TokenBook
from gnomon.actors.tree import EnginePorts, EngineTree
from gnomon.runtime import gc_tuning
from gnomon.runtime.clock import SystemClock
from gnomon.runtime.config import Config
from gnomon.runtime.daemonctl import port_holder
from gnomon.runtime.errors import DaemonUnreachable, StoreUnavailable, sole_error
from gnomon.runtime.events import EventBus
from gnomon.runtime.faults import crash_point
from gnomon.runtime.fire_window import FireWindow
from gnomon.runtime.gateway.credentials import JOB_PREFIX, JobCredentials
from gnomon.runtime.gateway.hosts import AllowedHosts, allowed_hosts
from gnomon.runtime.gateway.hosts import check_config as check_hosts
from gnomon.runtime.gateway.http import FrontDoor, FrontDoorDeps
from gnomon.runtime.gateway.login import LoginStore
from gnomon.runtime.gateway.session import GatewayDeps
from gnomon.runtime.home import Home
from gnomon.runtime.httpclient import open_client
from gnomon.runtime.job_metrics import restore as restore_job_series
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.firing import next_fire
from gnomon.runtime.protocol import Caller, ClusterNodes
from gnomon.runtime.store import Changes
from gnomon.runtime.store.lock import HomeLock
from gnomon.runtime.store.startup import open_store, store_name
from gnomon.runtime.supervisor import ChildSpec, Restart, Strategy, Supervisor

log = logging.getLogger("gnomon.daemon")
LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})


class CannotStart(DaemonUnreachable):
    """The daemon could not start (exit 5)."""


#: Methods that write job state through the engine: refused up front while the store
#: cannot write (the job actors would otherwise hold the request until it can).
STORE_WRITES = frozenset({"job.create", "job.cancel", "job.pause", "job.resume", "job.run"})


@attrs.frozen(kw_only=True)
class DaemonOptions:
    """How to run: the home, the effective config and the network flags."""

    home: Home
    config: Config
    tls_cert: Path | None = None
    tls_key: Path | None = None
    insecure_bind: bool = False
    new_audit_key: bool = False


@attrs.frozen(kw_only=True)
class DaemonInfo:
    """What ``daemon.json`` holds (and ``--detach`` prints)."""

    pid: int
    url: str
    http: str
    started_at: str
    boot_id: str
    log: str
    store: str = ""  # the database file, or the PostgreSQL URL without its password


def check_bind(host: str, opts: DaemonOptions) -> ssl.SSLContext | None:
    """Refuse a non-loopback bind without TLS or ``--insecure-bind``; the TLS context."""
    context = None
    if opts.tls_cert is not None or opts.tls_key is not None:
        if opts.tls_cert is None or opts.tls_key is None:
            raise CannotStart("--tls-cert and --tls-key go together")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(opts.tls_cert), str(opts.tls_key))
    if host not in LOOPBACK and context is None and not opts.insecure_bind:
        raise CannotStart(
            f"refusing to bind {host} without TLS",
            hint="pass --tls-cert/--tls-key, or --insecure-bind on a trusted network",
        )
    return context


class Daemon:
    """One daemon process's parts (see the module docstring)."""

    def __init__(self, opts: DaemonOptions, http_client: Any) -> None:
        self.opts = opts
        home, config = opts.home, opts.config
        self.metrics = Metrics(
            per_job_max=config["metrics.per_job_max"], per_job_tag=config["metrics.per_job_tag"]
        )
        self.link: PartitionLink | None = None
        #: a runtime.cluster Membership when clustered, and its fence for the store
        self.cluster: Any = None
        fence: Any = None
        if config["cluster.enabled"]:
            self.cluster, fence = self._cluster(config)
        self.store = open_store(
            home,
            config,
            new_audit_key=opts.new_audit_key,
            observe_commit=self.metrics.store_commit.observe,
            fence=fence,
        )
        self.bus = EventBus(self.store.events)
        self.fire_window = FireWindow()
        self.bus.add_listener(self.fire_window.observe)
        self.tail: Any = None  # clustered: every node's events reach the bus through it
        if self.cluster is not None:
            from gnomon.runtime.cluster.setup import event_tail

            observe = self.metrics.observe_event
            self.tail = event_tail(config, self.store, self.bus, observe, self.metrics.registry)
        else:
            self.bus.add_listener(self.metrics.observe_event)
            self.store.set_publisher(self.bus.publish)
        allow_bypass = (
            config["shell.allow_bypass"]
            or os.environ.get("GNOMON_SHELL_ALLOW_BYPASS", "").lower() == "true"
        )
        self.policy = ShellPolicy.in_home(home.root, allow_bypass=allow_bypass)
        settings = exec_settings(home.root, config)
        self.exec_settings = settings
        self.executors = Executors(
            settings, http=http_client, policy=self.policy, spent=stored_spend(self.store.runs)
        )
        self.clock = SystemClock() if self.cluster is None else self.cluster.clock
        self.tree = EngineTree(
            EnginePorts(
                persistence=StorePersistence(self.store),
                executor=self.executors,
                evaluator=Evaluators(settings, http=http_client, policy=self.policy),
                clock=self.clock,
                metrics=self.metrics,
                next_slot=next_fire,
                action_key=job_action_key,
                condition_key=job_condition_key,
                policy=self.policy.check_job,
                crash_point=crash_point,
                ids=None if self.cluster is None else lambda: self._link().new_id(),
                exclusions=ExclusionBook.load(self.store.switch_now(CALENDARS)),
                notify=self.bus.notify,
            ),
            engine_config(config),
        )
        if self.cluster is not None:
            self.link = PartitionLink(
                self.tree,
                StorePersistence(self.store),
                partitions=self.cluster.partitions,
                held=lambda: self.cluster.held,
            )
        self.admin_token = home.admin_token()
        self.owner = f"user:{getpass.getuser()}"
        self.tokens = TokenBook(self.store, admin_token=self.admin_token, admin_owner=self.owner)
        self.agents = Agents(
            self.tokens,
            AgentSwitch(self.tree, self.store, configured=config["agents.enabled"]),
            now=self.clock.now,
        )
        self.service = Service(
            MethodContext(
                self.tree,
                self.store,
                config,
                self.policy,
                redactor=settings.redactor(),
                connections=lambda: self.door.connections,
                admit_job=self.agents.admitting,
                admit_jobs=self.agents.admitting_many,
                agents=self.agents,
                fire_window=self.fire_window,
                cluster_nodes=self.cluster_nodes,
            )
        )
        self.tree.engine.admit_clone = self.agents.admitting_clone
        self.job_credentials = JobCredentials(self.tokens.principal)
        self.port = 0
        check_hosts(config["gateway.allowed_hosts"])
        self._hosts: AllowedHosts | None = None
        self.door = FrontDoor(
            FrontDoorDeps(
                gateway=GatewayDeps(
                    handlers=self.service.handlers(),
                    authenticate=self.authenticate,
                    gate=self.gate,
                    bus=self.bus,
                    server_version=version("gnomon"),
                    max_message_bytes=config["gateway.max_message_bytes"],
                    outbound_bytes=4 * config["gateway.max_message_bytes"],
                    max_inflight=config["gateway.max_inflight"],
                ),
                registry=self.metrics.registry,
                health=self.health,
                origins=self.origins,
                hosts=self.allowed_hosts,
                max_message_bytes=config["gateway.max_message_bytes"],
                max_connections=config["gateway.max_connections"],
                auth_timeout=config["gateway.auth_timeout"],
                on_connections=self.metrics.gateway_connections.set,
                login=LoginStore.keyed(self.admin_token, self.tokens.principal),
            )
        )

    def _cluster(self, config: Any) -> tuple[Any, Any]:
        """The membership and the store's fence (docs/cluster.md)."""
        from gnomon.runtime.cluster.setup import membership  # needs psycopg

        async def acquired(epochs: Any) -> None:
            await self._link().acquired(epochs)

        async def releasing(ps: frozenset[int]) -> None:
            await self._link().releasing(ps)

        return membership(
            config, self.metrics.registry, on_acquired=acquired, on_releasing=releasing
        )

    def _link(self) -> PartitionLink:
        assert self.link is not None
        return self.link

    def authenticate(
        self, token: str, client: str | None, client_version: str | None
    ) -> Caller | None:
        """The admin token of the home, a token made with ``gnomon token create``, or a
        job credential of a running slash command (dashboard logins and sessions are the
        front door's: runtime/gateway/login.py)."""
        if token.startswith(JOB_PREFIX):
            caller = self.job_credentials.verify(token)
            if caller is None:
                return None
            return attrs.evolve(caller, client=client, client_version=client_version)
        return self.tokens.authenticate(token, client, client_version)

    def allowed_hosts(self) -> AllowedHosts:
        """The ``Host`` headers the front door answers (DNS-rebinding defence)."""
        host, extra = self.opts.config["daemon.host"], self.opts.config["gateway.allowed_hosts"]
        if self._hosts is None or self._hosts.port != self.port:
            self._hosts = allowed_hosts(host, self.port, extra)
        return self._hosts

    def gate(self, caller: Caller, method: str) -> None:
        """The agents' gate (revoked tokens, the kill switch), then the store's: a job
        write is refused while the store cannot write.

        Raises:
            Unauthorized, Refused: see ``Agents.gate``.
            StoreUnavailable: the store's standing fault (``disk full: …``).
        """
        self.agents.gate(caller, method)
        if method in STORE_WRITES and self.store.health.fault is not None:
            if method == "job.create":
                self.metrics.enqueue_errors.labels("store").inc()
            self.store.health.check()

    async def cluster_nodes(self) -> ClusterNodes:
        """The cluster's members (docs/cluster.md); ``clustered: false`` when alone."""
        if self.cluster is None:
            return ClusterNodes(clustered=False)
        from gnomon.runtime.cluster.nodes import list_members  # needs psycopg

        return await list_members(self.cluster)

    def origins(self) -> frozenset[str]:
        scheme = "https" if self.opts.tls_cert else "http"
        hosts = {self.opts.config["daemon.host"], "127.0.0.1", "localhost", "[::1]"}
        return frozenset(f"{scheme}://{h}:{self.port}" for h in hosts)

    async def health(self) -> dict[str, Any]:
        report = await self.service.health()
        return {
            "ok": report.ok,
            "store_writable": report.store_writable,
            "tree_healthy": report.tree_healthy,
            "last_fire_lag": report.last_fire_lag,
            "reason": report.reason,
            "uptime": round(report.uptime, 3),
            "jobs": await self.service.job_counts(),
        }

    async def gateway(self, ctx: Any) -> None:
        """The edge actor: bind, then serve until stopped."""
        host = self.opts.config["daemon.host"]
        context = check_bind(host, self.opts)
        port = self.opts.config["daemon.port"]
        try:
            listeners: list[Any] = list(await trio.open_tcp_listeners(port, host=host))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            holder = port_holder(port)
            who = f"pid {holder}" if holder else "pid unknown"
            raise CannotStart(
                f"port {port} is in use by another process ({who}); pick --port or stop it"
            ) from None
        if context is not None:
            listeners = [trio.SSLListener(lst, context, https_compatible=True) for lst in listeners]
        inner = getattr(listeners[0], "transport_listener", listeners[0])
        self.port = int(inner.socket.getsockname()[1])
        url = f"{'wss' if context is not None else 'ws'}://{_host(self)}:{self.port}/ws"
        self.executors.install_slash_handler(
            slash_handler(url, self.exec_settings, self.slash_token)
        )
        ctx.ready()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, self.door.handle, listeners)
            await ctx.wait_stop_requested()
            nursery.cancel_scope.cancel()

    def slash_token(self, ctx: RunContext) -> str | None:
        """The credential a ``slash_cmd`` run authenticates with: a job credential with
        exactly the authority of the token that created the job (``None`` when that token
        is revoked or unknown: the command is refused). Never the admin token itself."""
        return self.job_credentials.mint(ctx.created_by, ctx.job_id, ctx.run_id, ctx.timeout)

    async def retention(self, ctx: Any) -> None:
        """Prune expired finished jobs every minute, in bounded batches."""
        ctx.ready()
        while True:
            if await ctx.inbox.receive_until(trio.current_time() + 60) is not None:
                continue
            try:
                while ids := await self.store.prune_ids(self.clock.now(), 500):
                    for job_id in ids:
                        self.tree.directory.forget(job_id)
            except StoreUnavailable as exc:  # recorded by the store; pruning waits a minute
                log.warning("pruning postponed: %s", exc.message)

    def root(self) -> Supervisor:
        infra = Supervisor(
            "infra",
            strategy=Strategy.REST_FOR_ONE,
            intensity=3,
            period=60,
            children=[
                self.store.writer_spec(),
                *([] if self.tail is None else [self.tail.spec()]),
                ChildSpec(id="retention", kind="retention", start=self.retention),
            ],
        )
        edge = Supervisor(
            "edge",
            intensity=5,
            period=60,
            children=[
                ChildSpec(
                    id="gateway",
                    kind="gateway",
                    start=self.gateway,
                    restart=Restart.PERMANENT,
                    shutdown=10,
                )
            ],
        )
        return Supervisor(
            "root",
            strategy=Strategy.ONE_FOR_ALL,
            intensity=0,
            period=60,
            children=[infra.as_child(), self.tree.core.as_child(), edge.as_child()],
        )

    async def announce(self, kind: EventType, message: str, **payload: Any) -> None:
        draft = EventDraft(type=kind, timestamp=self.clock.now(), message=message, payload=payload)
        await self.store.commit(Changes(events=(draft,)))


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
            url = f"ws://{_host(daemon)}:{daemon.port}/ws"
            if daemon.cluster is not None:
                daemon.cluster.url = url  # shown by gnomon nodes from the next renewal
            await daemon.announce(
                EventType.DAEMON_STARTED,
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


async def _stop(daemon: Daemon, root: Supervisor, signals: Any, *, now: bool, boot_id: str) -> None:
    """The planned stop: ``daemon.stopped``, then the tree stops while running actions get
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
        except StoreUnavailable as exc:  # a full disk must not keep the daemon up
            log.warning("daemon.stopped not recorded: %s", exc.message)
        daemon.store.health.give_up()  # saves waiting for space stop waiting: drain
        await root.stop()
        helpers.cancel_scope.cancel()
    interrupted = tuple(daemon.tree.drain.interrupted)
    reporter.report(attrs.evolve(reporter.last, waiting=(), interrupted=interrupted), done=True)


def _host(daemon: Daemon) -> str:
    host = str(daemon.opts.config["daemon.host"])
    return f"[{host}]" if ":" in host else host
