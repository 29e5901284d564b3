"""The one-line "why isn't it running?" reasons, from states the machine produces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gnomon.actors.core.explain import explain
from gnomon.actors.core.job.fsm import Created, FireDue, Pause, RunFinished, step
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.enums import JobStatus, Outcome, OwnerKind
from gnomon.runtime.model.job import Budget, JobSpec, Owner, WaitSpec
from gnomon.runtime.model.schedule import IntervalSchedule, ManualSchedule, OnceSchedule
from gnomon.runtime.model.state import Dependency, JobState

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def state(**spec: object) -> JobState:
    full = JobSpec(
        name="j",
        schedule=spec.pop("schedule", OnceSchedule(at=T0 + timedelta(hours=5))),
        action=NoopAction(),
        **spec,
    )  # type: ignore[arg-type]
    return JobState(
        id="J", spec=full, owner=Owner(kind=OwnerKind.USER, id="a"), created_at=T0, updated_at=T0
    )


def created(s: JobState, **kw: object) -> JobState:
    first = kw.pop("first_slot", T0 + timedelta(hours=5))
    return step(s, Created(now=T0, first_slot=first, **kw)).state  # type: ignore[arg-type]


def test_next_fire() -> None:
    """A pending job says when it fires next, in words."""
    r = explain(created(state()), T0 + timedelta(minutes=48))
    assert r.code == "scheduled"
    assert r.text == "next fire at 2026-11-02T05:00:00+00:00 (in 4h12m)"


def test_blocked_names_the_dependency() -> None:
    """A blocked job names what it waits for."""
    s = created(state(depends_on=("smoke",)), dependencies=(Dependency(id="S", name="smoke"),))
    assert s.status is JobStatus.BLOCKED
    assert explain(s, T0).text == "blocked: waiting for smoke"


def test_paused_and_manual() -> None:
    """Paused jobs say how to resume; manual ones how they fire."""
    s = step(created(state()), Pause(now=T0, reason="maintenance")).state
    assert explain(s, T0).text == "paused (maintenance); `gnomon jobs resume j` continues it"
    plain = step(created(state()), Pause(now=T0)).state
    assert explain(plain, T0).text == "paused; `gnomon jobs resume j` continues it"
    m = created(state(schedule=ManualSchedule()))
    assert explain(m, T0).code == "manual"


def test_waiting_reports_polls_and_deadline() -> None:
    """A waiting job reports its poll count, last result and when it gives up."""
    s = created(
        state(
            wait=WaitSpec(condition=TcpCondition(host="db", port=5432)),
            budget=Budget(wait_timeout=600),
        ),
        first_slot=T0,
    )
    s = step(s, FireDue(now=T0, slot=T0)).state
    r = explain(s, T0)
    assert r.code == "waiting"
    assert "0 poll(s), last: no poll yet" in r.text
    assert "gives up at 2026-11-02T00:10:00+00:00" in r.text


def test_retrying_and_breaker_open() -> None:
    """A job in backoff says when it retries and why; an open breaker is named."""
    s = created(
        state(
            schedule=IntervalSchedule(every=60, anchor=T0),
            budget=Budget(backoff_initial=10, backoff_jitter=0),
        ),
        first_slot=T0,
    )
    s = step(s, FireDue(now=T0, slot=T0, next_slot=T0 + timedelta(minutes=1))).state
    run_id = s.fires[0].run_id
    assert run_id is not None
    s = step(s, RunFinished(now=T0, run_id=run_id, outcome=Outcome.FAILED, exit_code=2)).state
    r = explain(s, T0)
    assert r.code == "retrying"
    assert r.text == "retry 2 at 2026-11-02T00:00:10+00:00 (in 10s) after: exit code 2"
    idle = created(state())
    until = T0 + timedelta(seconds=30)
    r = explain(idle, T0, open_breakers={"api:443": until}, breaker_key="api:443")
    assert r.text == "breaker api:443 open until 2026-11-02T00:00:30+00:00"


def test_waiting_names_the_condition() -> None:
    """A waiting job names the condition it polls."""
    s = created(state(wait=WaitSpec(condition=TcpCondition(host="db", port=5432))), first_slot=T0)
    s = step(s, FireDue(now=T0, slot=T0)).state
    assert explain(s, T0).text.startswith("waiting for tcp://db:5432 (0 poll(s)")


def test_policy_refusal_at_fire_time() -> None:
    """A recurring job whose last run the policy refused says so, then its next fire."""
    s = created(
        state(schedule=IntervalSchedule(every=60, anchor=T0), budget=Budget(max_retries=0)),
        first_slot=T0,
    )
    s = step(s, FireDue(now=T0, slot=T0, next_slot=T0 + timedelta(minutes=1))).state
    run_id = s.fires[0].run_id
    assert run_id is not None
    denied = "shell command denied by policy: 'rm -rf /' matches deny rule 'rm -rf *'"
    s = step(s, RunFinished(now=T0, run_id=run_id, outcome=Outcome.FAILED, error=denied)).state
    r = explain(s, T0)
    assert r.code == "policy"
    assert r.text == (
        f"refused by policy: {denied}; next fire at 2026-11-02T00:01:00+00:00 (in 1m0s)"
    )
