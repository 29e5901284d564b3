"""A daemon's cluster parts from its configuration (``cluster.*``, docs/cluster.md).

Imported by the daemon only when ``cluster.enabled`` is set (it needs psycopg).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import psycopg
from prometheus_client import CollectorRegistry

from gnomon.runtime.cluster import names, sql
from gnomon.runtime.cluster.clock import DbClock
from gnomon.runtime.cluster.fence import Fence, changes_partitions, store_fence
from gnomon.runtime.cluster.membership import Membership
from gnomon.runtime.cluster.metrics import ClusterMetrics
from gnomon.runtime.cluster.settings import SettingsWatcher, Shared
from gnomon.runtime.cluster.tail import EventTail
from gnomon.runtime.cluster.tail_metrics import TailMetrics
from gnomon.runtime.config import Config
from gnomon.runtime.event_bus import EventBus
from gnomon.runtime.home import HomeUnusable
from gnomon.runtime.model.events import Event
from gnomon.runtime.model.tokens import TokenRecord
from gnomon.runtime.store import Changes
from gnomon.runtime.store.urls import safe_url

Observe = Callable[[Event], None]


def membership(
    config: Config,
    registry: CollectorRegistry,
    *,
    gateway_url: Callable[[], str],
    on_acquired: Callable[[Mapping[int, int]], Awaitable[None]],
    on_releasing: Callable[[frozenset[int]], Awaitable[None]],
) -> tuple[Membership, Fence[Changes]]:
    """This daemon's membership (with a :class:`DbClock` and the metrics, listing
    ``gateway_url`` once the gateway is bound) and the fence for its store (the
    partitions' epochs, then unique live names: names.py).

    Raises:
        HomeUnusable: ``cluster.enabled`` without a PostgreSQL ``store.url``.
    """
    url = config["store.url"]
    if not url:
        raise HomeUnusable(
            "cluster.enabled needs a PostgreSQL store: start with"
            " --store postgresql://USER@HOST/DB --cluster (docs/cluster.md)"
        )
    member = Membership(
        url,
        node=config["cluster.node"] or None,
        gateway_url=gateway_url,
        partitions=config["cluster.partitions"],
        clock=DbClock(),
        metrics=ClusterMetrics(registry),
        on_acquired=on_acquired,
        on_releasing=on_releasing,
    )
    fence = store_fence(member, changes_partitions(member.partitions))
    return member, names.names_fence(fence, member.partitions)


async def join(member: Membership, *, task_status: Any) -> None:
    """Run ``member`` (:meth:`Membership.run`), failing the start in one line.

    Raises:
        HomeUnusable: the database cannot be reached, or its partition count differs.
    """
    try:
        await member.run(task_status=task_status)
    except sql.ClusterConfigError as exc:
        raise HomeUnusable(str(exc)) from None
    except (psycopg.Error, OSError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise HomeUnusable(
            f"cluster database unreachable: {safe_url(member.dsn)}: {first}"
        ) from None


def event_tail(
    config: Config,
    store: Any,
    bus: EventBus,
    observe_own: Observe,
    registry: CollectorRegistry | None = None,
) -> EventTail:
    """The node's event tail (docs/cluster.md, "Events on every node"): the store's commits
    (which its builder sends to :meth:`EventTail.committed`) go to ``observe_own`` (this
    node's metrics) and the tail publishes every node's events to ``bus`` in ``seq``
    order, reporting on ``registry``. Run its :meth:`~EventTail.spec` after the store's
    writer."""
    return EventTail(
        config["store.url"],
        start=store.last_seq,
        publish=bus.publish,
        observe_own=observe_own,
        metrics=None if registry is None else TailMetrics(registry),
    )


def settings_watcher(
    config: Config,
    apply: Callable[[Sequence[TokenRecord], Mapping[str, str]], Awaitable[None]],
    generation: Callable[[], int],
) -> SettingsWatcher:
    """The node's watcher of the shared settings (docs/cluster.md, "What is global"):
    ``apply(tokens, switches)`` whenever they change through any node."""

    async def applied(shared: Shared) -> None:
        await apply(shared.tokens, shared.switches)

    return SettingsWatcher(config["store.url"], apply=applied, generation=generation)
