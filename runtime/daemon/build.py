"""The daemon's parts, built once (see the package docstring): store, event bus, engine,
tokens and agents, the method families and the front door, and the supervisor tree."""

from __future__ import annotations

import errno
import getpass
import logging
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import attrs
import trio

from gnomon.actors.actions.llm_prompt import stored_spend
from gnomon.actors.actions.slash_cmd import slash_handler
from gnomon.actors.agents import Agents, AgentSwitch
from gnomon.actors.exec.executor import Executors
from gnomon.actors.exec.interface import RunContext
from gnomon.actors.partitions import PartitionLink, command_relay
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.remote import apply_command
from gnomon.actors.service import Service
from gnomon.actors.settings_from_config import exec_settings
from gnomon.actors.token_book import TokenBook
from gnomon.runtime.clock import SystemClock
from gnomon.runtime.daemon.options import (
    CannotStart,
    DaemonOptions,
    GatewayAddress,
    check_bind,
    host_of,
)
from gnomon.runtime.daemon.parts import (
    engine_tree,
    event_bus,
    front_door,
    method_context,
    shared_settings,
    shell_policy,
    store,
)
from gnomon.runtime.daemonctl import port_holder
from gnomon.runtime.errors import StoreUnavailable
from gnomon.runtime.gateway.credentials import JOB_PREFIX, JobCredentials
from gnomon.runtime.gateway.hosts import AllowedHosts, allowed_hosts
from gnomon.runtime.gateway.hosts import check_config as check_hosts
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.events import Event, EventDraft, EventType
from gnomon.runtime.model.state import JobState
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_system import ClusterNodes
from gnomon.runtime.restarts import Restart, Strategy
from gnomon.runtime.store import Changes
from gnomon.runtime.supervisor import Supervisor
from gnomon.runtime.supervisor_cells import ChildSpec

log = logging.getLogger("gnomon.daemon")

#: Methods that write job state through the engine: refused up front while the store
#: cannot write (the job actors would otherwise hold the request until it can).
STORE_WRITES = frozenset({"job.create", "job.cancel", "job.pause", "job.resume", "job.run"})


class Daemon:
    """One daemon process's parts (see the module docstring)."""

    def __init__(self, opts: DaemonOptions, http_client: Any) -> None:
        """Build every part once, in dependency order, passing each what it needs. Where
        two parts need each other (the engine's clone admission is the agents', which work
        on the engine; the cluster's command relay applies commands through the engine it
        feeds; the store publishes its commits to the bus or the event tail built on it),
        the later one is reached through a method of the daemon at call time; nothing is
        patched into a part after it is built."""
        self.opts = opts
        home, config = opts.home, opts.config
        self.metrics = Metrics(
            per_job_max=config["metrics.per_job_max"], per_job_tag=config["metrics.per_job_tag"]
        )
        #: the gateway's address, known once it is bound (``slash_cmd`` runs read it)
        self.address = GatewayAddress()
        #: a runtime.cluster Membership when clustered, its command relay and partition link
        self.relay: Any = None
        self.link: PartitionLink | None = None
        clustered = self._cluster(config) if config["cluster.enabled"] else (None, None)
        self.cluster: Any = clustered[0]
        self.store = store(self, fence=clustered[1])
        self.bus, self.fire_window, self.tail = event_bus(self)
        self.policy = shell_policy(opts)
        self.exec_settings = exec_settings(home.root, config)
        self.executors = Executors(
            self.exec_settings,
            http=http_client,
            policy=self.policy,
            spent=stored_spend(self.store.runs),
            slash=slash_handler(self.address.get, self.exec_settings, self.slash_token),
        )
        self.clock = SystemClock() if self.cluster is None else self.cluster.clock
        self.tree = engine_tree(self, http_client)
        if self.cluster is not None:
            self.link = PartitionLink(
                self.tree,
                StorePersistence(self.store),
                partitions=self.cluster.partitions,
                member=self.cluster,
                relay=self.relay,
            )
        self.admin_token = home.admin_token()
        self.owner = f"user:{getpass.getuser()}"
        self.tokens = TokenBook(self.store, admin_token=self.admin_token, admin_owner=self.owner)
        self.agents = Agents(
            self.tokens,
            AgentSwitch(self.tree, self.store, configured=config["agents.enabled"]),
            now=self.clock.now,
        )
        self.settings = None if self.cluster is None else shared_settings(self)
        self.service = Service(method_context(self))
        self.job_credentials = JobCredentials(self.tokens.principal)
        self.port = 0
        check_hosts(config["gateway.allowed_hosts"])
        self._hosts: AllowedHosts | None = None
        self.door = front_door(self)

    def _cluster(self, config: Any) -> tuple[Any, Any]:
        """The membership and the command relay (docs/cluster.md); the store's fence."""
        from gnomon.runtime.cluster.setup import membership  # needs psycopg

        async def acquired(epochs: Any) -> None:
            await self._link().acquired(epochs)

        async def releasing(ps: frozenset[int]) -> None:
            await self._link().releasing(ps)

        member, fence = membership(
            config,
            self.metrics.registry,
            gateway_url=self.address.get,
            on_acquired=acquired,
            on_releasing=releasing,
        )
        self.relay = command_relay(
            member,
            partitions=member.partitions,
            apply=self._apply,
            local_live=self._live_here,
        )
        return member, fence

    def _published(self, events: Sequence[Event]) -> None:
        """Where the store, built before them, sends each commit's sealed events: alone,
        the event bus; clustered, the event tail, which publishes every node's events to
        the bus in ``seq`` order (docs/cluster.md, "Events on every node")."""
        if self.tail is None:
            self.bus.publish(events)
        else:
            self.tail.committed(events)

    def _link(self) -> PartitionLink:
        assert self.link is not None
        return self.link

    async def _apply(self, cmd: Any) -> str | None:
        """A command another node sent, applied by this node's engine."""
        return await apply_command(self.tree, cmd.job_id, cmd.command, cmd.params)

    def _live_here(self) -> int:
        return self.tree.directory.live_count

    def _admit_clone(self, template: JobState) -> AbstractAsyncContextManager[None]:
        """A trigger clone counts against its template's token (``Agents``)."""
        return self.agents.admitting_clone(template)

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

    def cluster_fenced(self) -> bool:
        """Whether this cluster node fenced itself (never when it runs alone)."""
        return self.cluster is not None and bool(self.cluster.fenced)

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
        """``/healthz``: never raises for the store's state (a database that cannot be
        read makes it 503 with the reason; ``jobs`` is then ``null``)."""
        report = await self.service.health()
        reason, jobs = report.reason, None
        try:
            jobs = await self.service.job_counts()
        except StoreUnavailable as exc:  # PostgreSQL down: the answer still goes out
            reason = reason or exc.message
        return {
            "ok": report.ok and jobs is not None,
            "store_writable": report.store_writable,
            "tree_healthy": report.tree_healthy,
            "last_fire_lag": report.last_fire_lag,
            "reason": reason,
            "fenced": report.fenced,
            "uptime": round(report.uptime, 3),
            "jobs": jobs,
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
        scheme = "wss" if context is not None else "ws"
        self.address.bound(f"{scheme}://{host_of(self.opts.config)}:{self.port}/ws")
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
                *([] if self.settings is None else [self.settings.spec()]),
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
