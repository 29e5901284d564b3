"""What holds a job's next fire (``hold``: blocked, paused, waiting), and the admission
refusal of dependencies that never end — both pure, from states the machine produces."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from unit.test_explain import T0, created, state

from gnomon.actors.admission import endless
from gnomon.actors.core.explain import hold
from gnomon.actors.core.job.fsm import Cancel, DependencyEnded, FireDue, Pause, RunFinished, step
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.conditions import TcpCondition
from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.job import WaitSpec
from gnomon.runtime.model.schedule import IntervalSchedule, ManualSchedule
from gnomon.runtime.model.state import Dependency, JobState

SLOT = T0 + timedelta(hours=5)


def named(name: str, **spec: object) -> JobState:
    """``state(**spec)`` called ``name``."""
    s = state(**spec)
    return attrs.evolve(s, spec=attrs.evolve(s.spec, name=name))


EVERY = IntervalSchedule(every=3600.0, anchor=T0)


def test_on_time_jobs_have_no_hold() -> None:
    """A pending job fires as shown: no hold; a terminal one neither."""
    s = created(state())
    assert hold(s) is None
    fired = step(s, FireDue(now=SLOT, slot=SLOT)).state
    done = step(fired, RunFinished(now=SLOT, run_id="J.1.1", outcome=Outcome.SUCCESS)).state
    assert (done.status, hold(done)) == (JobStatus.COMPLETED, None)


def test_blocked_names_the_dependencies_still_running() -> None:
    """Blocked: `blocked by` the dependencies that have not ended, not those that did."""
    deps = (Dependency(id="A", name="a"), Dependency(id="B", name="b"))
    s = created(state(depends_on=("a", "b")), dependencies=deps)
    assert hold(s) == "blocked by a, b"
    s = step(s, DependencyEnded(now=T0, dep_id="A", status=JobStatus.COMPLETED)).state
    assert hold(s) == "blocked by b"


def test_paused_wins_over_blocked_and_time() -> None:
    """A paused job is held by the pause, whatever it was doing."""
    recurring = step(created(state(schedule=EVERY), first_slot=T0), Pause(now=T0)).state
    assert hold(recurring) == "paused"
    deps = (Dependency(id="A", name="a"),)
    blocked = created(state(depends_on=("a",)), dependencies=deps)
    assert hold(step(blocked, Pause(now=T0)).state) == "paused"


def test_waiting_names_the_condition() -> None:
    """A fire polling its wait is held by the condition, in DSL words."""
    wait = WaitSpec(condition=TcpCondition(host="db", port=5432))
    s = step(created(state(wait=wait)), FireDue(now=SLOT, slot=SLOT)).state
    assert s.status is JobStatus.WAITING
    assert hold(s) == "waiting for tcp://db:5432"


@pytest.mark.parametrize(("schedule", "kind"), [(EVERY, "recurring"), (ManualSchedule(), "manual")])
def test_depending_on_a_job_that_never_ends_is_refused(schedule: object, kind: str) -> None:
    """depends_on a live recurring or manual job: exit 2 naming it and both alternatives."""
    dep = created(named("nightly", schedule=schedule), first_slot=T0)
    with pytest.raises(InvalidInput) as err:
        endless(named("report").spec, [dep])
    text = err.value.message
    assert text.startswith(f"depends_on: nightly is a {kind} job (")
    assert "so report would stay blocked forever" in text
    assert "--depends-on a job that ends (--at, --in, --when now|when-ready)" in text
    assert "--triggers report on nightly instead" in text
    assert err.value.hint is not None
    assert "--when manual" in err.value.hint
    assert err.value.exit_code == 2


def test_one_shot_and_ended_dependencies_are_fine() -> None:
    """A one-shot dependency, or a recurring one that already ended, is accepted."""
    one_shot = created(named("build"))
    gone = step(created(state(schedule=EVERY), first_slot=T0), Cancel(now=T0)).state
    assert gone.status.terminal
    endless(named("report").spec, [one_shot, gone])
