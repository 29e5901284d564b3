"""Supervision news as events and metrics: ``actor.crashed``, ``actor.restarted`` and
``gnomon_actor_restarts_total{kind}``.

Supervisor observers are called synchronously from the supervisor's loop, so this one
only counts and queues: the events are saved by the engine's worker.
"""

from __future__ import annotations

from collections.abc import Callable

from gnomon.runtime.clock import Clock
from gnomon.runtime.errors import describe
from gnomon.runtime.metrics import Metrics
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.restarts import Crashed
from gnomon.runtime.supervisor import ChildExited, ChildRestarted, SupervisionEvent

TRACEBACK_CHARS = 8000


def supervision_observer(
    metrics: Metrics, clock: Clock, record: Callable[..., None]
) -> Callable[[SupervisionEvent], None]:
    """An observer that turns crashes and restarts into events and metrics."""

    def observe(event: SupervisionEvent) -> None:
        now = clock.now()
        if isinstance(event, ChildExited) and isinstance(event.reason, Crashed):
            err = event.reason.error
            record(
                EventDraft(
                    type=EventType.ACTOR_CRASHED,
                    timestamp=now,
                    message=f"{event.kind}:{event.child} crashed: {describe(err)}",
                    payload={
                        "supervisor": event.supervisor,
                        "actor": f"{event.kind}:{event.child}",
                        "kind": event.kind,
                        "incarnation": event.incarnation,
                        "traceback": event.reason.traceback[-TRACEBACK_CHARS:],
                    },
                )
            )
        elif isinstance(event, ChildRestarted):
            metrics.actor_restarts.labels(event.kind).inc()
            record(
                EventDraft(
                    type=EventType.ACTOR_RESTARTED,
                    timestamp=now,
                    message=f"{event.kind}:{event.child} restarted "
                    f"(incarnation {event.incarnation})",
                    payload={
                        "supervisor": event.supervisor,
                        "actor": f"{event.kind}:{event.child}",
                        "kind": event.kind,
                        "incarnation": event.incarnation,
                        "delay": round(event.delay, 3),
                    },
                )
            )

    return observe
