"""Stored job states whose spec today's bounds refuse (written by an older gnomon): they
decode, repaired and marked, and the state machine fails them at recovery; the bulk
catch-up input drops a backlog as one counted skip."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gnomon.actors.core.job.fsm import FireDue, Pause, Recover, Resume, step
from gnomon.actors.core.job.msgs import RecordSkip
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import NoopAction, WebhookAction
from gnomon.runtime.model.conditions import AllOf, TcpCondition
from gnomon.runtime.model.enums import JobStatus, OwnerKind
from gnomon.runtime.model.events import EventType
from gnomon.runtime.model.job import Budget, JobSpec, Owner, WaitSpec
from gnomon.runtime.model.schedule import IntervalSchedule, ManualSchedule
from gnomon.runtime.model.state import JobState
from gnomon.runtime.model.stored import SPEC_REFUSED, decode_state, is_refused

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def state(**spec: Any) -> JobState:
    full = JobSpec(
        name="old",
        schedule=spec.pop("schedule", IntervalSchedule(every=60, anchor=T0)),
        action=spec.pop("action", NoopAction()),
        **spec,
    )
    owner = Owner(kind=OwnerKind.USER, id="u")
    return JobState(id="J", spec=full, owner=owner, created_at=T0, updated_at=T0, next_fire_at=T0)


def stored_with(value: JobState, *path: str | int, to: Any) -> str:
    """``value`` as stored, with the field at ``path`` overwritten (an older gnomon)."""
    data = json.loads(wire.to_json(value))
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = to
    return json.dumps(data)


def test_a_valid_row_decodes_unchanged() -> None:
    """Nothing refused: the state is the one stored."""
    value = state()
    assert decode_state(wire.to_json(value)) == value


@pytest.mark.parametrize(
    ("path", "bad"),
    [
        (("spec", "schedule", "every"), 1e-5),
        (("spec", "schedule", "anchor"), "9999-12-31T23:59:59+00:00"),
        (("spec", "budget", "poll_interval"), 1e308),
        (("spec", "budget", "wait_timeout"), 1e308),
        (("spec", "ttl"), -1.0),
    ],
)
def test_a_refused_spec_is_repaired_and_marked(path: tuple[str, ...], bad: Any) -> None:
    """A refused field is reset (a refused schedule becomes manual); the state is marked
    with the problem and has no next fire."""
    decoded = decode_state(stored_with(state(), *path, to=bad))
    assert is_refused(decoded)
    assert decoded.message.startswith(SPEC_REFUSED)
    assert path[-1] in decoded.message
    assert decoded.next_fire_at is None
    if path[1] == "schedule":
        assert decoded.spec.schedule == ManualSchedule()
    else:
        assert decoded.spec.schedule == IntervalSchedule(every=60, anchor=T0)


def test_refused_values_deep_in_the_spec_are_repaired() -> None:
    """A refused timeout inside a composite wait condition and in the action."""
    value = state(
        action=WebhookAction(url="http://h/"),
        wait=WaitSpec(condition=AllOf(children=(TcpCondition(host="h", port=1),))),
        budget=Budget(),
    )
    text = stored_with(value, "spec", "wait", "condition", "children", 0, "timeout", to=1e308)
    text = stored_with(decode_state(text), "spec", "action", "timeout", to=-5)
    decoded = decode_state(text)
    assert is_refused(decoded)
    assert decoded.spec.action == WebhookAction(url="http://h/")


def test_a_row_that_is_not_a_state_still_fails() -> None:
    """Damage the repair cannot mend (outside the spec) is an error, as before."""
    with pytest.raises(InvalidInput):
        decode_state(stored_with(state(), "owner", to=5))


def test_recovery_fails_a_refused_job_with_an_event() -> None:
    """Recover on a refused state: job.failed with the problem, terminal, nothing armed."""
    decoded = decode_state(stored_with(state(), "spec", "schedule", "every", to=1e-5))
    result = step(decoded, Recover(now=T0 + timedelta(days=1)))
    assert result.error is None
    assert result.state.status is JobStatus.FAILED
    assert result.event_types == (EventType.JOB_FAILED,)
    assert "every" in result.events[0].message
    assert not is_refused(result.state)


def test_bulk_fire_due_drops_the_backlog_as_one_counted_skip() -> None:
    """FireDue(bulk) records the armed slot skipped with the count and the resume slot,
    and arms the resume slot — one event, one claim, however many slots it stands for."""
    value = state(schedule=IntervalSchedule(every=0.01, anchor=T0))
    resume = T0 + timedelta(days=1)
    result = step(
        value, FireDue(now=resume, slot=T0, next_slot=resume, bulk=True, missed=8_639_999)
    )
    assert result.error is None
    assert result.event_types == (EventType.JOB_SKIPPED,)
    payload = result.events[0].payload
    assert (payload["missed"], payload["until"], payload["reason"]) == (
        8_639_999,
        resume.isoformat(),
        "misfire",
    )
    assert [e.fire_time for e in result.effects if isinstance(e, RecordSkip)] == [T0]
    assert result.state.next_fire_at == resume


def test_bulk_fire_due_while_paused_joins_the_pause_tally() -> None:
    """A paused job far behind: the dropped backlog is added to the pause's tally (no event
    now); resuming writes the pause's one job.skipped counting it."""
    value = state(schedule=IntervalSchedule(every=0.01, anchor=T0))
    paused = step(value, Pause(now=T0, reason="maintenance")).state
    resume = T0 + timedelta(days=1)
    last = resume - timedelta(milliseconds=10)
    dropped = step(
        paused,
        FireDue(
            now=resume, slot=T0, next_slot=resume, bulk=True, missed=8_639_999, last_missed=last
        ),
    )
    assert dropped.error is None
    assert dropped.events == ()
    assert dropped.state.paused_skips is not None
    assert (dropped.state.paused_skips.count, dropped.state.paused_skips.last) == (8_639_999, last)
    resumed = step(dropped.state, Resume(now=resume, next_slot=resume))
    (skipped,) = [e for e in resumed.events if e.type is EventType.JOB_SKIPPED]
    assert skipped.payload["count"] == 8_639_999
