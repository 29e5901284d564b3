"""The batch firer (actors/job/batch.py) in virtual time: chunks, hand-overs to actors,
and a property test that it commits exactly what the job actors commit.

Real store (inline), real engine tree; only the actions are scripted (their outcome and
duration are drawn per job and attempt)."""

from __future__ import annotations

import contextlib
import itertools
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import attrs
import trio
import trio.testing
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.engine_world import EPOCH, World, make_world

from gnomon.actors.admission import AdmissionConfig
from gnomon.actors.drain import run_drain
from gnomon.actors.exec.interface import ActionResult, PollContext, RunContext, Verdict
from gnomon.actors.persistence import StorePersistence
from gnomon.actors.recovery import recover
from gnomon.actors.tree import EngineConfig
from gnomon.runtime.errors import GnomonError
from gnomon.runtime.model import wire
from gnomon.runtime.model.actions import Action, NoopAction
from gnomon.runtime.model.conditions import Condition, TcpCondition
from gnomon.runtime.model.enums import JobStatus, Misfire, OnTimeout, Outcome, Overlap
from gnomon.runtime.model.job import Budget, JobSpec, WaitSpec
from gnomon.runtime.model.schedule import CronSchedule, IntervalSchedule, OnceSchedule, Schedule

OPEN = AdmissionConfig(global_rps=1e6, global_burst=1e6, owner_rps=1e6, owner_burst=1e6)
FAIL = ActionResult(outcome=Outcome.FAILED, exit_code=1)
OK = ActionResult(outcome=Outcome.SUCCESS, exit_code=0)


def config(batch: bool, chunk: int = 256) -> EngineConfig:
    """No limit on runs at once: queueing for a slot would couple different jobs (and
    the order in which two paths queue their runs is free)."""
    return EngineConfig(
        admission=OPEN, batch_firing=batch, batch_chunk=chunk, max_concurrency=100_000
    )


@attrs.define
class DrawnExecutor:
    """Each run takes the job's drawn duration (plus a few µs that depend on its slot
    and attempt: no two runs of a job end at one instant, whose order would be trio's
    to choose on either path) and ends as drawn for its attempt (attempt n of a job:
    ``fails[name]`` says whether it fails)."""

    durations: dict[str, float] = attrs.field(factory=dict)
    fails: dict[str, tuple[bool, ...]] = attrs.field(factory=dict)
    started: list[tuple[str, float]] = attrs.field(factory=list)

    #: a job's wait: the verdict of poll n is ``verdicts[name][(n - 1) % len]``
    verdicts: dict[str, tuple[Verdict, ...]] = attrs.field(factory=dict)

    async def evaluate(self, condition: Condition, ctx: PollContext) -> Verdict:
        """The evaluator too: each poll takes a few ms (no poll ends at a slot)."""
        self.started.append((f"poll {ctx.job_name}", trio.current_time()))
        await trio.sleep(0.0173)
        drawn = self.verdicts.get(ctx.job_name) or (Verdict(value=False),)
        return drawn[(ctx.poll - 1) % len(drawn)]

    async def run(self, action: Action, ctx: RunContext) -> ActionResult:
        self.started.append((ctx.job_name, trio.current_time()))
        apart = (ctx.fire_time.timestamp() % 997) * 1e-4 + ctx.attempt * 1e-5
        await trio.sleep(self.durations.get(ctx.job_name, 0.0) + apart)
        fails = self.fails.get(ctx.job_name, ())
        return FAIL if fails and fails[(ctx.attempt - 1) % len(fails)] else OK


def ids() -> Any:
    counter = itertools.count()
    return lambda: f"job{next(counter):04d}"


async def world(
    nursery: trio.Nursery, tmp: Path, *, batch: bool, executor: Any = None, chunk: int = 256
) -> World:
    executor = executor or DrawnExecutor()
    return await make_world(
        nursery,
        tmp,
        config=config(batch, chunk),
        executor=executor,
        evaluator=executor if isinstance(executor, DrawnExecutor) else None,
        ids=ids(),
    )


def once(at: float) -> OnceSchedule:
    return OnceSchedule(at=EPOCH + timedelta(seconds=at))


# -- behaviour ------------------------------------------------------------------------


async def test_a_storm_fires_in_chunks_without_a_single_actor(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """100 one-shot jobs due at one instant: all fire at their slot and complete, in
    chunks of 16 (few transactions), and no job actor is ever activated."""
    w = await world(nursery, tmp_path, batch=True, chunk=16)
    jobs = [
        await w.create(JobSpec(name=f"s{i}", schedule=once(30), action=NoopAction()))
        for i in range(100)
    ]
    before = w.store.transactions
    await trio.sleep(60)
    assert w.tree.batch is not None
    assert w.tree.batch.fired == 100
    assert w.tree.directory.activations == 0
    for job in jobs:
        assert (await w.get(job.id)).status is JobStatus.COMPLETED
    fired = [e for e in await w.events() if e.type == "job.fired"]
    assert {e.timestamp for e in fired} == {EPOCH + timedelta(seconds=30)}
    assert w.store.transactions - before < 40


def counting_commits(w: World, seconds: float) -> list[int]:
    """Every ``commit_many`` of ``w``'s store takes ``seconds`` of virtual time; returns
    ``[in flight now, most in flight at once]``, kept up to date."""
    count = [0, 0]
    commit_many = w.store.commit_many

    async def slow_commit_many(units: Any, *, urgent: bool = False) -> Any:
        count[0] += 1
        count[1] = max(count)
        try:
            await trio.sleep(seconds)
            return await commit_many(units, urgent=urgent)
        finally:
            count[0] -= 1

    w.store.commit_many = slow_commit_many  # type: ignore[method-assign]
    return count


async def test_waits_due_together_start_in_pipelined_chunks_without_a_single_actor(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """60 one-shot jobs whose slot starts a wait, due at one instant, behind a store whose
    every transaction takes 1 s: the firer fires them in 4 chunks of 15 with the chunks'
    commits in flight together (staged at the slot, not one chunk per second), every
    wait is with the pollers, its first result comes back through the firer, and no job
    actor is ever activated; then the jobs passivate (the firer holds none)."""
    w = await world(nursery, tmp_path, batch=True, chunk=15)
    wait = WaitSpec(condition=TcpCondition(host="db", port=5432))
    budget = Budget(poll_interval=10.37, wait_timeout=3600.0)
    jobs = [
        await w.create(
            JobSpec(name=f"w{i}", schedule=once(30), action=NoopAction(), wait=wait, budget=budget)
        )
        for i in range(60)
    ]
    commits = counting_commits(w, 1.0)
    await trio.sleep(45)
    assert w.tree.batch is not None
    assert w.tree.batch.fired == 60
    assert w.tree.directory.activations == 0
    assert commits[1] >= 2  # chunks committed together, not one after another
    events = await w.events()
    started = [e for e in events if e.type == "job.wait_started"]
    assert len(started) == 60
    assert {e.timestamp for e in started} == {EPOCH + timedelta(seconds=30)}
    assert len({e.job_id for e in events if e.type == "job.wait_tick"}) == 60  # first polls
    for job in jobs:
        assert (await w.get(job.id)).status is JobStatus.WAITING
        assert len(w.tree.waits.entries(job.id)) == 1
    assert not w.tree.batch.held


async def test_a_command_while_the_chunks_commit_waits_for_its_jobs_fire(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """40 jobs whose slot starts a wait, due at one instant, in chunks of 4 behind a store
    whose every transaction takes 1 s (4 chunks in flight): a ``pause`` half a second after
    the slot, for a job whose chunk is staged and committing, is stepped after that job's
    fire (its actor takes the job with the fire committed, never beside a fire staged but
    not yet owned by a commit); for one whose chunk is not staged yet, its actor takes the
    job before its fire was stepped (the pause comes first, nothing fires behind it)."""
    w = await world(nursery, tmp_path, batch=True, chunk=4)
    wait = WaitSpec(condition=TcpCondition(host="db", port=5432))
    budget = Budget(poll_interval=10.37, wait_timeout=3600.0)
    for i in range(40):
        spec = JobSpec(
            name=f"w{i}", schedule=once(30), action=NoopAction(), wait=wait, budget=budget
        )
        await w.create(spec)
    counting_commits(w, 1.0)
    await trio.sleep(30.5)
    for name in ("w10", "w39"):  # its chunk committing; its chunk not staged yet
        await w.tree.engine.command(name, "pause", reason="now")
    await trio.sleep(20)
    histories = []
    for name in ("w10", "w39"):
        job = await w.get(name)
        assert job.status is JobStatus.PAUSED
        histories.append([t for t in await w.types(job.id) if t in ("job.fired", "job.paused")])
    assert histories[0] == ["job.fired", "job.paused"]  # the fire first: one writer
    assert histories[1] in (["job.paused"], ["job.fired", "job.paused"])


async def test_a_cancel_during_a_batch_run_hands_the_job_and_its_run_to_the_actor(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """``jobs cancel`` while the batch runs the job: its actor takes the job with the run
    (no waiting for the run's end), kills it, and the job ends cancelled."""
    executor = DrawnExecutor(durations={"long": 100.0})
    w = await world(nursery, tmp_path, batch=True, executor=executor)
    job = await w.create(JobSpec(name="long", schedule=once(10), action=NoopAction()))
    await trio.sleep(20)
    assert w.tree.batch is not None
    assert w.tree.batch.holds(job.id)
    assert (await w.get(job.id)).status is JobStatus.RUNNING
    await w.tree.engine.command("long", "cancel", reason="enough")
    await trio.sleep(1)
    assert not w.tree.batch.holds(job.id)
    assert (await w.get(job.id)).status is JobStatus.CANCELLED
    runs = await w.store.runs(job.id)
    assert [r.outcome for r in runs] == [Outcome.CANCELLED]
    assert trio.current_time() < 100  # the run did not end by itself first


async def test_a_failed_run_with_retries_left_goes_to_the_actor(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A retry is not plain: after the failed run's end is committed, the job's actor
    retries it (the batch does not)."""
    executor = DrawnExecutor(fails={"flaky": (True, False)})
    w = await world(nursery, tmp_path, batch=True, executor=executor)
    budget = Budget(max_retries=2, backoff_initial=5, backoff_jitter=0)
    job = await w.create(
        JobSpec(name="flaky", schedule=once(10), action=NoopAction(), budget=budget)
    )
    await trio.sleep(60)
    assert (await w.get(job.id)).status is JobStatus.COMPLETED
    assert [round(t) for _, t in executor.started] == [10, 15]
    assert w.tree.directory.activations == 1


async def test_a_stop_drains_a_batch_run_and_records_it_interrupted(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A planned stop while the batch runs a job: the run gets the drain limit, is then
    interrupted and recorded so (the fire goes back to be re-run at the next start), and
    the engine stops without waiting for the run's own end."""
    executor = DrawnExecutor(durations={"long": 1000.0})
    w = await world(nursery, tmp_path, batch=True, executor=executor)
    job = await w.create(JobSpec(name="long", schedule=once(10), action=NoopAction()))
    await trio.sleep(20)
    assert w.tree.batch is not None
    assert w.tree.batch.holds(job.id)
    async with trio.open_nursery() as helpers:
        helpers.start_soon(
            lambda: run_drain(w.tree.drain, limit=10, now=trio.Event(), report=lambda r: None)
        )
        await w.tree.core.stop()
        helpers.cancel_scope.cancel()
    assert 30 <= trio.current_time() < 45
    runs = await w.store.runs(job.id)
    assert [r.outcome for r in runs] == [Outcome.INTERRUPTED]
    assert "drain limit 10s" in runs[0].error
    assert [r.job for r in w.tree.drain.interrupted] == ["long"]


# -- equivalence ------------------------------------------------------------------------


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    kind = draw(st.sampled_from(["once", "interval", "cron"]))
    if kind == "once":
        return once(draw(st.integers(-150, 200)))  # in the past: a late slot
    if kind == "interval":
        anchor = EPOCH + timedelta(seconds=draw(st.integers(-100, 100)))
        return IntervalSchedule(every=draw(st.sampled_from([2, 5, 7, 30, 60])), anchor=anchor)
    return CronSchedule(expr=draw(st.sampled_from(["* * * * *", "*/2 * * * *"])), tz="UTC")


@st.composite
def job_sets(draw: st.DrawFn) -> tuple[list[JobSpec], DrawnExecutor]:
    executor = DrawnExecutor()
    specs = []
    for i in range(draw(st.integers(1, 6))):
        name = f"j{i}"
        budget = Budget(
            max_retries=draw(st.integers(0, 2)),
            backoff_initial=draw(st.sampled_from([1.125, 4.125])),
            backoff_jitter=0,
        )
        wait = draw(waits(executor, name))
        if wait is not None:  # never a whole second: no poll or deadline at a slot
            budget = attrs.evolve(
                budget,
                poll_interval=2.3456,
                wait_timeout=draw(st.sampled_from([4.37, 20.37])),
                max_polls=draw(st.sampled_from([0, 3])),
            )
        specs.append(
            JobSpec(
                name=name,
                schedule=draw(schedules()),
                action=NoopAction(),
                wait=wait,
                budget=budget,
                overlap=draw(st.sampled_from(list(Overlap))),
                misfire=draw(st.sampled_from(list(Misfire))),
                misfire_grace=draw(st.sampled_from([0.0, 30.0, 60.0])),
            )
        )
        # never a whole second, nor with a backoff: no run ends at the very instant of a
        # slot or a retry of its job (the order of two inputs due at one instant is free)
        executor.durations[name] = draw(st.sampled_from([0.25, 3.25, 9.25, 40.25]))
        executor.fails[name] = tuple(draw(st.lists(st.booleans(), min_size=1, max_size=3)))
    return specs, executor


VERDICTS = st.sampled_from(
    [
        Verdict(value=False),
        Verdict(value=False, summary="still down"),
        Verdict(value=None, summary="flaky", transient=True),
        Verdict(value=None, summary="broken", transient=False),
        Verdict(value=True),
    ]
)


@st.composite
def waits(draw: st.DrawFn, executor: DrawnExecutor, name: str) -> WaitSpec | None:
    """No wait (most jobs), or one whose polls answer as drawn (the first results
    unchanged more often than not: unchanged polls write nothing)."""
    if not draw(st.booleans()):
        return None
    executor.verdicts[name] = tuple(draw(st.lists(VERDICTS, min_size=1, max_size=4)))
    on_timeout = draw(st.sampled_from(list(OnTimeout)))
    fallback = NoopAction() if on_timeout is OnTimeout.FALLBACK else None
    return WaitSpec(
        condition=TcpCondition(host="db", port=5432), on_timeout=on_timeout, fallback=fallback
    )


def normal(value: Any) -> Any:
    """``value`` unstructured (ids are the same in both runs: the test's own)."""
    return wire.unstructure(value)


async def committed(w: World, count: int) -> dict[str, Any]:
    """Per job (the test's ids, in creation order): its state, claims, runs, and its
    events in order without seq/hash (the interleaving of different jobs' events is
    free)."""
    out: dict[str, Any] = {"claimed slots": await w.store.count("fires")}
    events = await w.events()
    wakes = {row.id: row.wake for row in await w.store.job_index()}  # from the job's core
    for name in (f"job{i:04d}" for i in range(count)):
        state = await w.store.get_job(name)
        assert state is not None
        runs = sorted((await w.store.runs(state.id)), key=lambda r: r.run_id)
        own = [e for e in events if e.job_id == state.id]
        out[name] = {
            "state": normal(state),
            "wake": wakes.get(state.id),
            "claims": sorted(
                str(e.payload.get("fire_time"))
                for e in own
                if e.type in ("job.fired", "job.skipped")
            ),
            "runs": [normal(r) for r in runs],
            "events": [(e.type.value, e.timestamp, e.message, normal(e.payload)) for e in own],
        }
    return out


Command = tuple[float, int, str]  # (at, job index, op)


async def commanding(w: World, commands: list[Command], count: int) -> None:
    """Send each command at its time (seconds after the start; a refusal is fine)."""
    start = trio.current_time()
    for at, index, op in sorted(commands):
        await trio.sleep_until(start + at)
        with contextlib.suppress(GnomonError):
            await w.tree.engine.command(f"job{index % count:04d}", op, reason="drawn")  # type: ignore[arg-type]


def slow_store(w: World, seconds: float) -> None:
    """Every commit of ``w``'s store takes ``seconds`` of virtual time (on both paths: a
    job actor's ``commit``, the batch firer's ``commit_many``) — an engine that falls
    behind its jobs, the case pipelining is for."""
    commit, commit_many = w.store.commit, w.store.commit_many

    async def slow_commit(changes: Any, *, urgent: bool = False) -> Any:
        await trio.sleep(seconds)
        return await commit(changes, urgent=urgent)

    async def slow_commit_many(units: Any, *, urgent: bool = False) -> Any:
        await trio.sleep(seconds)
        return await commit_many(units, urgent=urgent)

    w.store.commit = slow_commit  # type: ignore[method-assign]
    w.store.commit_many = slow_commit_many  # type: ignore[method-assign]


async def scenario(
    specs: list[JobSpec],
    executor: DrawnExecutor,
    batch: bool,
    down: float | None,
    commands: list[Command],
    slow: float = 0.0,
) -> dict[str, Any]:
    """Create ``specs`` and run 400 s — or, with ``down``, run 100 s, stop (runs in
    flight are cut off), stay down ``down`` seconds, restart and recover, run 200 s
    (each a tenth of a second less: what is committed is read between slots)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with trio.open_nursery() as nursery:
            w = await world(nursery, Path(tmp), batch=batch, executor=executor, chunk=2)
            for spec in specs:
                await w.create(spec)
            if slow:
                slow_store(w, slow)
            nursery.start_soon(commanding, w, commands, len(specs))
            await trio.sleep(399.9 if down is None else 99.9)  # never at a slot
            out = await committed(w, len(specs))
            nursery.cancel_scope.cancel()
        if down is not None:
            w.store.close()
            async with trio.open_nursery() as nursery:
                w = await make_world(
                    nursery,
                    Path(tmp),
                    config=config(batch, 2),
                    executor=executor,
                    evaluator=executor,
                    ids=ids(),
                    epoch=EPOCH + timedelta(seconds=99.9 + down),
                    boot="again",
                )
                port = StorePersistence(w.store)
                await recover(w.tree.directory, port, boot_id="again", now=w.clock.now())
                await trio.sleep(199.9)
                out = await committed(w, len(specs))
                nursery.cancel_scope.cancel()
        out["started"] = sorted(executor.started)
    return out


def run_virtual(
    specs: list[JobSpec],
    executor: DrawnExecutor,
    batch: bool,
    down: float | None = None,
    commands: list[Command] | None = None,
    slow: float = 0.0,
) -> dict[str, Any]:
    fresh = attrs.evolve(executor, started=[])
    clock = trio.testing.MockClock(autojump_threshold=0)
    return trio.run(scenario, specs, fresh, batch, down, commands or [], slow, clock=clock)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_sets())
def test_the_batch_path_commits_what_the_actor_path_commits(
    drawn: tuple[list[JobSpec], DrawnExecutor],
) -> None:
    """For random jobs (once, interval, cron; late slots; overlap and misfire policies;
    drawn durations and outcomes, retries; waits with drawn poll results, ``max_polls``
    and every ``on_timeout``: their durable results stepped by the batch firer for jobs
    with no active actor), the batch path commits the same states,
    claims, runs and events, and starts the same actions at the same times."""
    specs, executor = drawn
    assert run_virtual(specs, executor, batch=True) == run_virtual(specs, executor, batch=False)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_sets(), st.sampled_from([30.0, 1000.0, 7200.0]))
def test_after_a_restart_the_batch_path_catches_up_like_the_actor_path(
    drawn: tuple[list[JobSpec], DrawnExecutor], down: float
) -> None:
    """The same after the daemon was down: orphaned runs, misfire policies, late slots
    coalesced (more than MAX_CATCH_UP of the 2 s interval's slots missed in two hours)."""
    specs, executor = drawn
    batch = run_virtual(specs, executor, batch=True, down=down)
    assert batch == run_virtual(specs, executor, batch=False, down=down)


#: Commands at half seconds: never at a slot (whole seconds) nor at a run's end.
COMMANDS = st.lists(
    st.tuples(
        st.integers(0, 390).map(lambda s: s + 0.5),
        st.integers(0, 5),
        st.sampled_from(["cancel", "pause", "resume", "run_now"]),
    ),
    max_size=6,
    unique_by=lambda c: c[0],  # two commands at one instant: their order is trio's
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_sets(), COMMANDS)
def test_with_commands_the_batch_path_commits_what_the_actor_path_commits(
    drawn: tuple[list[JobSpec], DrawnExecutor], commands: list[Command]
) -> None:
    """The same with cancel, pause, resume and run-now at drawn moments — a command for
    a job the batch holds (waiting for its slot, or running) hands it to its actor."""
    specs, executor = drawn
    batch = run_virtual(specs, executor, batch=True, commands=commands)
    assert batch == run_virtual(specs, executor, batch=False, commands=commands)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(job_sets(), st.sampled_from([0.5, 2.5, 7.5]))
def test_behind_its_jobs_the_batch_path_pipelines_like_the_actor_path(
    drawn: tuple[list[JobSpec], DrawnExecutor], slow: float
) -> None:
    """Pipelined recurring jobs (``JobCore.parked``, ``JobCore.end_run``): every commit
    takes ``slow`` seconds, so a run often begins after its job's next slot; that slot
    waits for the run's end and is decided in the end's unit. One job with one run at
    a time (``allow`` and ``cancel_previous`` become ``skip``): the paths queue commits
    differently — different jobs' per actor or per chunk, one job's several ends one by
    one or together — and with slow commits that moves later instants. Both paths
    commit the same and start the same actions at the same instants."""
    specs, executor = drawn
    overlap = specs[0].overlap if specs[0].overlap is Overlap.QUEUE else Overlap.SKIP
    one = [attrs.evolve(specs[0], overlap=overlap)]
    batch = run_virtual(one, executor, batch=True, slow=slow)
    assert batch == run_virtual(one, executor, batch=False, slow=slow)


async def test_a_slot_that_comes_before_its_run_began_waits_for_the_runs_end(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """An engine late by more than a period (every commit takes 2.5 s, the job fires
    every 2 s, its runs take 0.3 s): a slot that came before the previous slot's run
    began is not judged an overlap at once; it waits for that run's end and is decided
    in the end's unit (the ``job.fired`` shares the ``job.completed``'s instant). The
    job stays with the batch firer, and every slot is claimed once, fired or skipped."""
    executor = DrawnExecutor(durations={"tick": 0.25})
    w = await world(nursery, tmp_path, batch=True, executor=executor)
    schedule = IntervalSchedule(every=2, anchor=EPOCH + timedelta(seconds=10))
    job = await w.create(JobSpec(name="tick", schedule=schedule, action=NoopAction()))
    slow_store(w, 2.5)
    await trio.sleep(60.1)
    events = [e for e in await w.events() if e.job_id == job.id]
    fired = [e for e in events if e.type == "job.fired"]
    ended = {e.timestamp for e in events if e.type == "job.completed"}
    assert len(fired) >= 15
    assert all(e.timestamp in ended for e in fired[1:])  # decided at the run's end
    assert w.tree.directory.activations == 0  # never handed to its actor
    claimed = sorted(
        e.payload["fire_time"] for e in events if e.type in ("job.fired", "job.skipped")
    )
    slots = [
        (EPOCH + timedelta(seconds=t)).isoformat() for t in range(12, 12 + 2 * len(claimed), 2)
    ]
    assert claimed == slots
