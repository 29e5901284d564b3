"""Every JSON-RPC method of the protocol table, called on a real daemon, answers with a
result of its declared type (structured strictly and unstructured back unchanged)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import trio
from gateway.rawws import Raw, connect
from support.daemon_proc import RealDaemon

from gnomon.cli.jobspec import spec_from_options
from gnomon.runtime.model import wire
from gnomon.runtime.protocol import METHODS
from gnomon.runtime.protocol_jobs import JobView

pytestmark = pytest.mark.slow


class Checked:
    """Calls methods and checks each result against ``METHODS[name].result``."""

    def __init__(self, conn: Raw) -> None:
        self.conn = conn
        self.seen: set[str] = set()

    async def __call__(self, method: str, params: dict[str, Any] | None = None) -> Any:
        value = await self.conn.result(method, {} if params is None else params)
        typed = wire.structure(value, METHODS[method].result)
        assert wire.unstructure(typed) == value, method
        self.seen.add(method)
        return typed


def spec(name: str, **options: Any) -> dict[str, Any]:
    """A job spec built as the CLI builds it, in wire form."""
    options = {"name": name, "do": "shell: false", "every": "1h", **options}
    built = spec_from_options(options, now=datetime.now(UTC), tz="UTC")
    return dict(wire.unstructure(built))


async def until_runs(call: Checked, ref: str) -> tuple[Any, ...]:
    """Poll ``job.logs`` until the job has a finished run."""
    with trio.fail_after(10):
        while True:
            runs: tuple[Any, ...] = (await call("job.logs", {"ref": ref})).runs
            if runs and runs[-1].finished_at is not None:
                return runs
            await trio.sleep(0.05)


async def job_methods(call: Checked) -> None:
    """The job.* and breaker.* methods along one job's life: create … cancel, clear."""
    preview = await call("job.preview", {"spec": spec("rt-job"), "count": 3})
    assert len(preview.next_fires) == 3
    created = spec("rt-job", tag=["suite=rt"], breaker="rt-breaker")
    job: JobView = await call("job.create", {"spec": created})
    assert (job.name, job.tags) == ("rt-job", {"suite": "rt"})
    assert (await call("job.get", {"ref": "rt-job"})).job.id == job.id
    assert job.id in {j.id for j in (await call("job.list", {"tags": ["suite=rt"]})).jobs}
    searched = await call("job.list", {"search": "RT-JO", "with_total": True, "limit": 1})
    assert ([j.id for j in searched.jobs], searched.total) == ([job.id], 1)
    assert job.id in {n.id for n in (await call("job.tree")).nodes}
    assert (await call("job.run", {"ref": job.id})).id == job.id
    assert (await until_runs(call, job.id))[-1].job_id == job.id
    assert "rt-breaker" in {b.key for b in await call("breaker.list")}
    assert (await call("breaker.reset", {"key": "rt-breaker"})).status == "closed"
    paused = await call("job.pause", {"refs": [job.id], "reason": "test"})
    assert [j.status.value for j in paused.jobs] == ["paused"]
    resumed = await call("job.resume", {"tags": ["suite=rt"]})
    assert [j.status.value for j in resumed.jobs] == ["pending"]
    assert (await call("job.cancel", {"refs": ["rt-job"]})).jobs[0].status.value == "cancelled"
    cleared = await call("job.clear", {"statuses": ["cancelled"], "name": "rt-job", "yes": True})
    assert [j.id for j in cleared.jobs] == [job.id]
    specs = [spec("rt-many-a"), spec("rt-many-b")]
    many = await call("job.create_many", {"specs": specs, "mode": "apply"})
    assert [(j.name, j.result) for j in many.jobs] == [
        ("rt-many-a", "created"),
        ("rt-many-b", "created"),
    ]
    await call("job.cancel", {"refs": [j.id for j in many.jobs]})


async def other_methods(call: Checked, token: str) -> None:
    """system.*, rpc.discover, events.*, audit.verify, policy.*, config.get, inbox.*."""
    assert (await call("system.hello", {"token": token, "client": "rt"})).scope == "admin"
    assert (await call("system.health")).ok
    ticket = await call("system.login_url", {"scope": "read", "ttl": 30})
    assert ticket.ticket in ticket.path
    assert (await call("system.hello", {"token": ticket.ticket})).scope == "read"
    assert (await call("system.session")).session  # a dashboard login may mint one
    assert (await call("system.hello", {"token": token})).scope == "admin"
    assert (await call("system.stats")).connections >= 1
    fires = await call("stats.fires", {"minutes": 5})  # job_methods ran rt-job once
    assert len(fires.minutes) == 5
    assert sum(m.fired for m in fires.minutes) >= 1
    names = [m["name"] for m in (await call("rpc.discover"))["methods"]]
    assert set(names) == {*METHODS, "$/cancelRequest"}
    listed = await call("events.list", {"since_seq": 0, "limit": 5})
    assert [e.seq for e in listed.events] == list(range(1, len(listed.events) + 1))
    audit = await call("audit.verify")
    assert (audit.ok, audit.first_seq, audit.problem) == (True, 1, "")
    sub = await call("events.subscribe", {"since_seq": 0, "types": ["daemon.*"]})
    assert (await call("events.unsubscribe", {"subscription": sub.subscription})).count == 1
    rules = await call("policy.set", {"action": "deny", "pattern": "rt-forbidden *"})
    assert ("deny", "rt-forbidden *") in {(r.kind, r.pattern) for r in rules}
    assert (await call("policy.check", {"command": "rt-forbidden now"})).decision == "deny"
    await call("policy.set", {"action": "remove", "pattern": "rt-forbidden *"})
    assert "rt-forbidden *" not in {r.pattern for r in await call("policy.list")}
    rows = {r.key: r for r in await call("config.get")}
    assert (rows["gateway.max_message_bytes"].value, rows["gateway.max_message_bytes"].source) == (
        "65536",
        "env",
    )
    entries = await call("inbox.list", {"unread_only": True})
    assert (await call("inbox.ack", {"ids": [e.id for e in entries]})).count == len(entries)
    assert (await call("cluster.nodes")).clustered is False  # a lone daemon (cluster.md)


async def agent_methods(call: Checked) -> None:
    """token.* and agents.*: create, list and revoke a token; the kill switch off and on."""
    limits = {"max_jobs": 2, "shell": False, "actions": ["noop", "webhook"]}
    made = await call("token.create", {"name": "rt-bot", "agent": True, "limits": limits})
    assert made.token.startswith("gnm_")
    assert (made.info.owner, made.info.limits.max_ttl) == ("agent:rt-bot", 7 * 86400.0)
    assert made.info.id in {t.id for t in await call("token.list")}
    assert (await call("agents.set", {"enabled": False})).enabled is False
    assert (await call("agents.status")).enabled is False
    assert (await call("agents.set", {"enabled": True})).enabled is True
    revoked = await call("token.revoke", {"ids": ["rt-bot"]})
    assert [t.id for t in revoked] == [made.info.id]
    assert revoked[0].revoked_at is not None


async def schedule_methods(call: Checked) -> None:
    """calendar.* and job.backfill: add, list, remove a calendar; backfill two days."""
    cal = {"name": "rt-cal", "tz": "UTC", "dates": ["2026-01-01"], "windows": []}
    assert (await call("calendar.add", cal)).dates == ("2026-01-01",)
    assert "rt-cal" in {c.name for c in (await call("calendar.list")).calendars}
    daily = spec("rt-daily", every=None, calendar=["*-*-* 06:00"], do="noop", exclude=["rt-cal"])
    job: JobView = await call("job.create", {"spec": daily})
    span = {"ref": job.id, "start": "2025-12-31T00:00:00+00:00", "end": "2026-01-01T23:00:00Z"}
    plan = await call("job.backfill", {**span, "dry_run": True})
    assert [(s.status, s.calendar) for s in plan.slots] == [
        ("pending", None),
        ("excluded", "rt-cal"),
    ]
    done = await call("job.backfill", {**span, "max_parallel": 2})
    assert [s.status for s in done.slots] == ["fired", "excluded"]
    assert (await call("calendar.remove", {"name": "rt-cal"})).count == 1
    await call("job.cancel", {"refs": [job.id]})


async def test_every_method_round_trips(daemon: RealDaemon) -> None:
    """Each method in METHODS is called at least once and its result has the declared type."""
    async with connect(daemon) as conn:
        call = Checked(conn)
        await job_methods(call)
        await schedule_methods(call)
        await other_methods(call, daemon.token)
        await agent_methods(call)
    assert call.seen == set(METHODS)


async def test_subscription_replays_history_as_notifications(daemon: RealDaemon) -> None:
    """events.subscribe with since_seq=0 replays committed events as events.notify in order."""
    async with connect(daemon) as conn:
        sub = await conn.result("events.subscribe", {"since_seq": 0, "types": ["daemon.started"]})
        with trio.fail_after(10):
            while not conn.notes:
                conn.notes.append(await conn.recv())
        note = conn.notes[0]
        assert note["method"] == "events.notify"
        assert note["params"]["subscription"] == sub["subscription"]
        assert note["params"]["event"]["type"] == "daemon.started"
        assert note["params"]["seq"] == note["params"]["event"]["seq"] == 1
