"""The typed views of event payloads (runtime/model/payloads.py) that the metrics, the
fire window and ``system.status`` read."""

from __future__ import annotations

from datetime import UTC, datetime

from gnomon.runtime.model import payloads
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.events import Event, EventType

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(kind: EventType, outcome: Outcome | None = None, **payload: object) -> Event:
    return Event(seq=1, type=kind, timestamp=T0, outcome=outcome, payload=dict(payload))


def test_a_run_end_needs_a_run_id_an_outcome_and_a_duration() -> None:
    done = event(EventType.JOB_COMPLETED, Outcome.SUCCESS, run_id="r", duration=1.5)
    assert payloads.RunEnded.read(done) == payloads.RunEnded("unknown", "success", 1.5)
    typed = event(EventType.JOB_FAILED, Outcome.FAILED, run_id="r", duration=2, action_type="shell")
    assert payloads.RunEnded.read(typed) == payloads.RunEnded("shell", "failed", 2.0)
    assert (
        payloads.RunEnded.read(event(EventType.JOB_COMPLETED, Outcome.SUCCESS, run_id="r")) is None
    )
    assert payloads.RunEnded.read(event(EventType.JOB_COMPLETED, duration=1.0, run_id="r")) is None
    assert (
        payloads.RunEnded.read(event(EventType.JOB_COMPLETED, Outcome.SUCCESS, duration=1)) is None
    )


def test_missing_or_mistyped_keys_read_as_unknown_or_none() -> None:
    assert payloads.Fired.read({"lag": "late"}).lag is None
    assert payloads.Fired.read({"lag": 3}).lag == 3.0
    assert payloads.Fired.read({"lag": True}).lag is None
    assert payloads.WaitTick.read({}) == payloads.WaitTick("unknown", "unknown")
    assert payloads.WaitEnded.read({"condition_type": "tcp", "waited": 4}).waited == 4.0
    assert payloads.Skipped.read({"reason": "paused", "count": 7}) == payloads.Skipped("paused", 7)
    assert payloads.Skipped.read({"count": "7"}) == payloads.Skipped("unknown", 1)
    assert payloads.BreakerMoved.read({"key": 5, "to": "open"}) == payloads.BreakerMoved(
        None, "open"
    )


def test_writers_add_their_keys_to_a_payload() -> None:
    assert payloads.Created("http").write({"a": 1}) == {"a": 1, "action_type": "http"}
    written = payloads.WaitTick("tcp", "true").write({"poll": 2})
    assert payloads.WaitTick.read(written) == payloads.WaitTick("tcp", "true")
    assert payloads.Created.read(payloads.Created("noop").write({})).action_type == "noop"


def test_what_the_engine_writes_reads_back() -> None:
    """Every writer's keys read back through the same class (enrich writes only these)."""
    assert payloads.Fired.read(payloads.Fired(0.25).write({"cycle": 1})).lag == 0.25
    assert payloads.Fired(None).write({"cycle": 1}) == {"cycle": 1}
    end = payloads.RunEnded("http", "success", 1.5)
    done = event(EventType.JOB_COMPLETED, Outcome.SUCCESS, **end.write({"run_id": "r"}))
    assert payloads.RunEnded.read(done) == end
    satisfied = payloads.WaitEnded("tcp", 2.0, "true")
    assert payloads.WaitEnded.read(satisfied.write({"cycle": 1})) == satisfied
    assert payloads.WaitEnded("tcp", None).write({}) == {"condition_type": "tcp"}
    assert payloads.WaitEvent.read(payloads.WaitEvent("file").write({})).condition_type == "file"
