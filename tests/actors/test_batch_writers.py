"""Commands at random moments during a storm never give a job two writers.

The batch firer (actors/job/batch.py) holds due plain jobs (a slot that starts a run or a
wait), with several chunks' commits in flight; a command for one of them
(cancel, pause, resume, run now, ``--replace``) hands the job to its actor. If both ever
stepped the job, each would save states derived from its own copy, and the job's saved
states would stop following one another. The test records every state the store
*accepted* for each job (a spy on the real store's commit methods: it only looks) and
checks that each saved state follows the one before: its transitions extend the previous
ones (the newest 64 are kept), and its cycle and ``updated_at`` never go back.

Virtual time, real store (inline), real engine tree; actions are scripted at the edge.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.engine_world import EPOCH, World, make_world

from gnomon.actors.admission import AdmissionConfig
from gnomon.actors.core.job.tx import MAX_TRANSITIONS
from gnomon.actors.exec.interface import ActionResult, PollContext, RunContext, Verdict
from gnomon.actors.tree import EngineConfig
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.model.actions import Action, NoopAction
from gnomon.runtime.model.conditions import Condition, TcpCondition
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.model.job import Budget, JobSpec, WaitSpec
from gnomon.runtime.model.schedule import IntervalSchedule
from gnomon.runtime.model.state import JobState
from gnomon.runtime.store import Changes

OPEN = AdmissionConfig(global_rps=1e6, global_burst=1e6, owner_rps=1e6, owner_burst=1e6)
JOBS = 24
OPS = ("cancel", "pause", "resume", "run_now", "replace")


class Durations:
    """Each run takes its job's drawn duration and fails when drawn so (a retry goes to
    the job's actor: more hand-overs); the evaluator too: a wait holds on its second
    poll."""

    def __init__(self, durations: Sequence[float], failing: frozenset[int]) -> None:
        self.durations = durations
        self.failing = failing

    async def run(self, action: Action, ctx: RunContext) -> ActionResult:
        index = int(ctx.job_name.removeprefix("j").split("-")[0])
        await trio.sleep(self.durations[index % len(self.durations)])
        if index in self.failing and ctx.attempt == 1:
            return ActionResult(outcome=Outcome.FAILED, exit_code=1)
        return ActionResult(outcome=Outcome.SUCCESS, exit_code=0)

    async def evaluate(self, condition: Condition, ctx: PollContext) -> Verdict:
        await trio.sleep(0.01)
        return Verdict(value=ctx.poll >= 2)


def watch_saves(w: World, slow: float = 0.0) -> dict[str, list[JobState]]:
    """Record, per job id, every state the store accepted, in commit order; the batch
    firer's transactions (``commit_many``) take ``slow`` seconds, so that commands land
    while its chunks commit."""
    saved: dict[str, list[JobState]] = defaultdict(list)
    commit, commit_many = w.store.commit, w.store.commit_many

    def note(unit: Changes) -> None:
        for state in unit.jobs:
            saved[state.id].append(state)

    async def spy_commit(changes: Changes, *, urgent: bool = False) -> Any:
        events = await commit(changes, urgent=urgent)
        note(changes)
        return events

    async def spy_commit_many(units: Sequence[Changes], *, urgent: bool = False) -> Any:
        await trio.sleep(slow)
        results = await commit_many(units, urgent=urgent)
        for unit, result in zip(units, results, strict=True):
            if not isinstance(result, GnomonError):
                note(unit)
        return results

    w.store.commit = spy_commit  # type: ignore[method-assign]
    w.store.commit_many = spy_commit_many  # type: ignore[method-assign]
    return saved


def spec(index: int, every: int, variant: int = 0) -> JobSpec:
    """Job ``index``; every third one's slot starts a wait (fired by the batch firer too,
    whose results come back through it)."""
    waits = index % 3 == 0
    return JobSpec(
        name=f"j{index}",
        schedule=IntervalSchedule(every=every, anchor=EPOCH + timedelta(seconds=variant)),
        action=NoopAction(),
        wait=WaitSpec(condition=TcpCondition(host="db", port=5432)) if waits else None,
        budget=Budget(
            max_retries=1,
            backoff_initial=0.5,
            backoff_jitter=0,
            poll_interval=1.3,
            wait_timeout=30.0,
        ),
    )


async def command(w: World, index: int, op: str) -> None:
    """One command; a refusal (a finished or cancelled job, say) is fine."""
    with contextlib.suppress(GnomonError):
        if op == "replace":
            await w.create(spec(index, every=3, variant=1), replace=True)
        else:
            await w.tree.engine.command(f"j{index}", op, reason="drawn")  # type: ignore[arg-type]


async def storm(
    tmp: Path,
    every: Sequence[int],
    durations: Durations,
    commands: list[tuple[float, int, str]],
    slow: float,
) -> dict[str, list[JobState]]:
    config = EngineConfig(admission=OPEN, batch_firing=True, batch_chunk=4, max_concurrency=100_000)
    ids = itertools.count()
    async with trio.open_nursery() as nursery:
        w = await make_world(
            nursery,
            tmp,
            config=config,
            executor=durations,
            evaluator=durations,
            ids=lambda: f"id{next(ids):04d}",
        )
        saved = watch_saves(w, slow)
        for index in range(JOBS):
            await w.create(spec(index, every[index % len(every)]))
        start = trio.current_time()
        for at, index, op in sorted(commands):
            await trio.sleep_until(start + at)
            await command(w, index, op)
        await trio.sleep_until(start + 90)
        nursery.cancel_scope.cancel()
    return saved


def follows(before: JobState, after: JobState) -> str | None:
    """Why ``after`` cannot be the save that follows ``before``, or None."""
    old, new = before.transitions, after.transitions
    extended = ((*old, *new[len(new) - k :])[-MAX_TRANSITIONS:] for k in range(len(new) + 1))
    if new not in extended:
        return "its transitions do not extend the previous save's"
    if after.cycle < before.cycle:
        return f"cycle went back from {before.cycle} to {after.cycle}"
    if after.updated_at < before.updated_at:
        return f"updated_at went back from {before.updated_at} to {after.updated_at}"
    return None


def brief(state: JobState) -> str:
    reasons = [t.reason for t in state.transitions[-4:]]
    return f"cycle {state.cycle}, updated {state.updated_at:%H:%M:%S.%f}, last {reasons}"


COMMANDS = st.lists(
    st.tuples(
        st.integers(0, 850).map(lambda tenth: tenth / 10 + 0.05),
        st.integers(0, JOBS - 1),
        st.sampled_from(OPS),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    every=st.lists(st.sampled_from([1, 2, 3, 5]), min_size=1, max_size=4),
    durations=st.lists(st.sampled_from([0.05, 0.6, 1.7, 4.3]), min_size=1, max_size=5),
    failing=st.frozensets(st.integers(0, JOBS - 1), max_size=6),
    commands=COMMANDS,
    slow=st.sampled_from([0.0, 0.3]),
)
def test_commands_during_a_storm_never_give_a_job_two_writers(
    tmp_path_factory: Any,
    every: list[int],
    durations: list[float],
    failing: frozenset[int],
    commands: list[tuple[float, int, str]],
    slow: float,
) -> None:
    """24 recurring jobs (every 1–5 s, every third one's slot starting a wait, drawn run
    times, some failing once so a retry goes to the actor) fired by the batch firer for
    90 s while cancel, pause, resume, run-now and --replace arrive at drawn moments (the
    firer's transactions take 0 or 0.3 s: commands land while its chunks commit): every
    job's saved states follow one another."""
    tmp = tmp_path_factory.mktemp("storm")
    clock = trio.testing.MockClock(autojump_threshold=0)
    run = Durations(durations, failing)
    saved = trio.run(storm, tmp, every, run, commands, slow, clock=clock)
    assert sum(len(states) for states in saved.values()) > JOBS * 10  # the storm happened
    for job_id, states in saved.items():
        for before, after in itertools.pairwise(states):
            why = follows(before, after)
            assert why is None, (
                f"{job_id}: {why}\n  before: {brief(before)}\n  after: {brief(after)}"
            )
