"""The daemon's parts, built once (see the package docstring): store, event bus, engine,
tokens and agents, the method families and the front door, and the supervisor tree."""

from __future__ import annotations

import errno
import getpass
import logging
import os
from importlib.metadata import version
from typing import Any

import attrs
import trio

from gnomon.actors.actions.llm_prompt import stored_spend
from gnomon.actors.actions.slash_cmd import slash_handler
from gnomon.actors.agents import Agents, AgentSwitch
from gnomon.actors.calendars import SWITCH as CALENDARS
from gnomon.actors.calendars import ExclusionBook
from gnomon.actors.core.breaker.keys import job_action_key, job_condition_key
from gnomon.actors.exec.evaluator import Evaluators
from gnomon.actors.exec.executor import Executors
from gnomon.actors.exec.interface import RunContext
from gnomon.actors.methods.context import MethodContext
from gnomon.actors.partitions import PartitionLink
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.service import Service
from gnomon.actors.settings_from_config import engine_config, exec_settings
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.actors.token_book import TokenBook
from gnomon.actors.tree import EnginePorts, EngineTree
from gnomon.runtime.clock import SystemClock
from gnomon.runtime.daemon.options import CannotStart, DaemonOptions, check_bind, host_of
from gnomon.runtime.daemonctl import port_holder
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.event_bus import EventBus
from gnomon.runtime.faults import crash_point
from gnomon.runtime.fire_window import FireWindow
from gnomon.runtime.gateway.credentials import JOB_PREFIX, JobCredentials
from gnomon.runtime.gateway.hosts import AllowedHosts, allowed_hosts
from gnomon.runtime.gateway.hosts import check_config as check_hosts
from gnomon.runtime.gateway.http import FrontDoor, FrontDoorDeps
from gnomon.runtime.gateway.login import LoginStore
from gnomon.runtime.gateway.session import GatewayDeps
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.model.firing import next_fire
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_system import ClusterNodes
from gnomon.runtime.restarts import Restart, Strategy
from gnomon.runtime.store import Changes
from gnomon.runtime.store.startup import open_store
from gnomon.runtime.supervisor import Supervisor
from gnomon.runtime.supervisor_cells import ChildSpec

log = logging.getLogger("gnomon.daemon")

#: Methods that write job state through the engine: refused up front while the store
#: cannot write (the job actors would otherwise hold the request until it can).
STORE_WRITES = frozenset({"job.create", "job.cancel", "job.pause", "job.resume", "job.run"})


class Daemon:
    """One daemon process's parts (see the module docstring)."""

    def __init__(self, opts: DaemonOptions, http_client: Any) -> None:
        """Build every part once, in dependency order (no part is patched afterwards
        except where two parts need each other: the engine's clone admission is the
        agents', the services' connection count is the front door's)."""
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
        self.bus, self.fire_window, self.tail = event_bus(self)
        self.policy = shell_policy(opts)
        self.exec_settings = exec_settings(home.root, config)
        self.executors = Executors(
            self.exec_settings,
            http=http_client,
            policy=self.policy,
            spent=stored_spend(self.store.runs),
        )
        self.clock = SystemClock() if self.cluster is None else self.cluster.clock
        self.tree = engine_tree(self, http_client)
        if self.cluster is not None:
            self.link = PartitionLink(
                self.tree,
                StorePersistence(self.store),
                partitions=self.cluster.partitions,
                member=self.cluster,
            )
        self.admin_token = home.admin_token()
        self.owner = f"user:{getpass.getuser()}"
        self.tokens = TokenBook(self.store, admin_token=self.admin_token, admin_owner=self.owner)
        self.agents = Agents(
            self.tokens,
            AgentSwitch(self.tree, self.store, configured=config["agents.enabled"]),
            now=self.clock.now,
        )
        self.tree.engine.admit_clone = self.agents.admitting_clone
        self.service = Service(method_context(self))
        self.job_credentials = JobCredentials(self.tokens.principal)
        self.port = 0
        check_hosts(config["gateway.allowed_hosts"])
        self._hosts: AllowedHosts | None = None
        self.door = front_door(self)

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
        url = (
            f"{'wss' if context is not None else 'ws'}://{host_of(self.opts.config)}:{self.port}/ws"
        )
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


def event_bus(daemon: Daemon) -> tuple[EventBus, FireWindow, Any]:
    """The bus, the fire window it feeds, and (clustered) the tail that brings every
    node's events to it in seq order; alone, the store publishes its commits itself."""
    bus = EventBus(daemon.store.events)
    window = FireWindow()
    bus.add_listener(window.observe)
    if daemon.cluster is None:
        bus.add_listener(daemon.metrics.observe_event)
        daemon.store.set_publisher(bus.publish)
        return bus, window, None
    from gnomon.runtime.cluster.setup import event_tail

    metrics = daemon.metrics
    config = daemon.opts.config
    return (
        bus,
        window,
        event_tail(config, daemon.store, bus, metrics.observe_event, metrics.registry),
    )


def shell_policy(opts: DaemonOptions) -> ShellPolicy:
    """The home's shell policy (``shell.allow_bypass`` or ``$GNOMON_SHELL_ALLOW_BYPASS``)."""
    allow_bypass = (
        opts.config["shell.allow_bypass"]
        or os.environ.get("GNOMON_SHELL_ALLOW_BYPASS", "").lower() == "true"
    )
    return ShellPolicy.in_home(opts.home.root, allow_bypass=allow_bypass)


def engine_tree(daemon: Daemon, http_client: Any) -> EngineTree:
    """The engine (actors/tree.py) over the daemon's store, executors and clock."""
    d, settings = daemon, daemon.exec_settings
    return EngineTree(
        EnginePorts(
            persistence=StorePersistence(d.store),
            executor=d.executors,
            evaluator=Evaluators(settings, http=http_client, policy=d.policy),
            clock=d.clock,
            metrics=d.metrics,
            next_slot=next_fire,
            action_key=job_action_key,
            condition_key=job_condition_key,
            policy=d.policy.check_job,
            crash_point=crash_point,
            ids=None if d.cluster is None else lambda: d._link().new_id(),
            exclusions=ExclusionBook.load(d.store.switch_now(CALENDARS)),
            notify=d.bus.notify,
        ),
        engine_config(d.opts.config),
    )


def method_context(daemon: Daemon) -> MethodContext:
    """What the method families work on (actors/methods/)."""
    d = daemon
    return MethodContext(
        d.tree,
        d.store,
        d.opts.config,
        d.policy,
        redactor=d.exec_settings.redactor(),
        connections=lambda: d.door.connections,
        admit_job=d.agents.admitting,
        admit_jobs=d.agents.admitting_many,
        agents=d.agents,
        fire_window=d.fire_window,
        cluster_nodes=d.cluster_nodes,
    )


def front_door(daemon: Daemon) -> FrontDoor:
    """The one port: HTTP (dashboard, /metrics, /healthz, login) and the WebSocket gateway."""
    d, config = daemon, daemon.opts.config
    return FrontDoor(
        FrontDoorDeps(
            gateway=GatewayDeps(
                handlers=d.service.handlers(),
                authenticate=d.authenticate,
                gate=d.gate,
                bus=d.bus,
                server_version=version("gnomon"),
                max_message_bytes=config["gateway.max_message_bytes"],
                outbound_bytes=4 * config["gateway.max_message_bytes"],
                max_inflight=config["gateway.max_inflight"],
            ),
            registry=d.metrics.registry,
            health=d.health,
            origins=d.origins,
            hosts=d.allowed_hosts,
            max_message_bytes=config["gateway.max_message_bytes"],
            max_connections=config["gateway.max_connections"],
            auth_timeout=config["gateway.auth_timeout"],
            on_connections=d.metrics.gateway_connections.set,
            login=LoginStore.keyed(d.admin_token, d.tokens.principal),
        )
    )
