"""The builders of the daemon's larger parts (``build.Daemon`` calls each once, in
dependency order): the store, the event bus, the shell policy, the engine tree, the
method families' context and the front door."""

from __future__ import annotations

import os
from importlib.metadata import version
from typing import TYPE_CHECKING, Any

from gnomon.actors import policy_shared
from gnomon.actors.calendars import SWITCH as CALENDARS
from gnomon.actors.calendars import ExclusionBook
from gnomon.actors.exec.evaluator import Evaluators
from gnomon.actors.methods.context import MethodContext
from gnomon.actors.partitions import held_ids
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.settings_from_config import engine_config
from gnomon.actors.shared import SharedParts
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.actors.tree import EnginePorts, EngineTree
from gnomon.runtime.daemon.options import (
    DaemonOptions,
)
from gnomon.runtime.event_bus import EventBus
from gnomon.runtime.faults import crash_point
from gnomon.runtime.fire_window import FireWindow
from gnomon.runtime.gateway.http import FrontDoor, FrontDoorDeps
from gnomon.runtime.gateway.login import LoginStore
from gnomon.runtime.gateway.session import GatewayDeps
from gnomon.runtime.store.daemon_store import DaemonStore
from gnomon.runtime.store.startup import open_store

if TYPE_CHECKING:
    from gnomon.runtime.daemon.build import Daemon


def store(daemon: Daemon, *, fence: Any) -> DaemonStore:
    """The home's store (``runtime/store/startup.py``), publishing its commits through
    ``Daemon._published``; ``fence``: the cluster's, when clustered.

    Raises:
        HomeUnusable: see ``open_store``.
    """
    d = daemon
    return open_store(
        d.opts.home,
        d.opts.config,
        new_audit_key=d.opts.new_audit_key,
        observe_commit=d.metrics.store_commit.observe,
        publish=d._published,
        fence=fence,
    )


def event_bus(daemon: Daemon) -> tuple[EventBus, FireWindow, Any]:
    """The bus, the fire window it feeds, and (clustered) the tail that brings every
    node's events to it in seq order (``Daemon._published``: where the store's commits
    go). Alone, the metrics hear the bus; clustered, the tail gives them this node's
    own commits."""
    window, metrics = FireWindow(), daemon.metrics
    if daemon.cluster is None:
        listeners = (window.observe, metrics.observe_event)
        return EventBus(daemon.store.events, listeners=listeners), window, None
    from gnomon.runtime.cluster.setup import event_tail

    bus = EventBus(daemon.store.events, listeners=(window.observe,))
    config = daemon.opts.config
    return (
        bus,
        window,
        event_tail(config, daemon.store, bus, metrics.observe_event, metrics.registry),
    )


def shared_settings(daemon: Daemon) -> Any:
    """(Clustered) the watcher that keeps tokens, switches, calendars and the shell policy
    as every node changes them (runtime/cluster/settings.py)."""
    from gnomon.runtime.cluster.setup import settings_watcher  # needs psycopg

    d = daemon
    parts = SharedParts(d.tokens, d.agents.switch, d.tree.ports.exclusions, d.policy)
    parts.start(d.store.switch_now(policy_shared.SWITCH))
    return settings_watcher(d.opts.config, parts.apply, parts.generation)


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
            policy=d.policy.check_job,
            crash_point=crash_point,
            ids=None if d.cluster is None else held_ids(d.cluster, d.cluster.partitions),
            exclusions=ExclusionBook.load(d.store.switch_now(CALENDARS)),
            notify=d.bus.notify,
            admit_clone=d._admit_clone,
            remote=d.relay,
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
        cluster_fenced=d.cluster_fenced,
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
