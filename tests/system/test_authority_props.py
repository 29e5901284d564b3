"""Property: whatever an agent sends, every job it ever gets obeys its token's limits
(issue 17's acceptance), against ONE real daemon for the module.

Hypothesis draws sequences of gateway calls under a fresh limited agent token (max 3
jobs, no shell, min interval 1m, max TTL 1h, actions noop and slash_cmd): single creates
and batches of creates of allowed and forbidden jobs, slash commands (``/schedule …``,
``/token create``, ``/jobs cancel`` of the admin's job), job.run of its own and the
admin's jobs, cancels and pauses of the admin's job, and system.session followed by a
hello with whatever it got. After each call the agent holds at most 3 live jobs; at the
end (slash runs finished) every job ever owned by the agent — listed by the admin, and
replayed from the events — used allowed actions only, fired no more often than 1m,
expires within 1h, never exceeded 3 live at once, and the admin's job and the token
list are untouched. No call answers an internal error.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
import trio
from gateway.rawws import Raw, connect
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from support.authority import batch, hello, result, spec
from support.daemon_proc import RealDaemon, cli_env

pytestmark = pytest.mark.slow
MAX_JOBS, MIN_INTERVAL, MAX_TTL = 3, 60.0, 3600.0
LIMITS = {
    "max_jobs": MAX_JOBS,
    "min_interval": MIN_INTERVAL,
    "max_ttl": MAX_TTL,
    "actions": ["noop", "slash_cmd"],
    "shell": False,
}
ALLOWED_ACTIONS = {"noop", "slash_cmd"}
EXPECTED_ERRORS = {-32001, -32002, -32003, -32004, -32602}
SENTINEL = "admin-sentinel"
RATE = {"GNOMON_LIMITS_OWNER_RPS": "10000", "GNOMON_LIMITS_OWNER_BURST": "10000"}
_examples = itertools.count()


def _slash(command: str) -> dict[str, Any]:
    return {"do": command, "max_retries": 0}


#: Job kinds an agent may try: name → CLI-style options (``{child}`` is a fresh name).
KINDS: dict[str, dict[str, Any]] = {
    "every_ok": {"every": "2m", "do": "noop"},
    "every_fast": {"every": "10s", "do": "noop"},
    "now_noop": {"do": "noop: hi"},
    "far_once": {"at": "2099-01-01T00:00", "do": "noop"},
    "shell": {"every": "1h", "do": "shell: echo pwned"},
    "webhook": {"every": "1h", "do": "GET http://127.0.0.1:9/"},
    "agent_task": {"every": "1h", "do": "agent: open a shell"},
    "wait_fast": {"when": "when-ready", "until": "tcp://127.0.0.1:9", "do": "noop", "poll": "1s"},
    "slash_ok": _slash("/schedule {child} --every 2m --do noop"),
    "slash_fast": _slash("/schedule {child} --every 10s --do noop"),
    "slash_far": _slash("/schedule {child} --at 2099-01-01T00:00 --do noop"),
    "slash_shell": _slash('/schedule {child} --every 1h --do "shell: echo pwned"'),
    "slash_token": _slash("/token create --name {child} --scope admin"),
    "slash_cancel": _slash(f"/jobs cancel {SENTINEL}"),
}
kinds = st.sampled_from(sorted(KINDS))
creates = st.tuples(st.just("create"), kinds)
batches = st.tuples(st.just("batch"), st.lists(kinds, min_size=2, max_size=5))
calls = st.one_of(
    creates,
    creates,
    batches,
    batches,
    st.tuples(st.just("run"), st.integers(0, 4)),
    st.tuples(st.just("meddle"), st.sampled_from(["cancel-ref", "cancel-tag", "pause-ref"])),
    st.tuples(st.just("session"), st.none()),
)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """One daemon for every example, with the admin's sentinel job; it must stop cleanly."""
    home = tmp_path_factory.mktemp("props") / "home"
    running = RealDaemon.start(home, env=cli_env(home, **RATE))
    sentinel = spec(SENTINEL, every="1h", do="noop", tag=["shared=1"])
    trio.run(result, running, "job.create", {"spec": sentinel})
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


class Driver:
    """One example: an agent connection, the jobs it made, every answer it got."""

    def __init__(self, daemon: RealDaemon, conn: Raw, prefix: str) -> None:
        self.daemon, self.conn, self.prefix = daemon, conn, prefix
        self.made: list[str] = []
        self.errors: list[dict[str, Any]] = []
        self._names = itertools.count()

    def job(self, kind: str) -> dict[str, Any]:
        name = f"{self.prefix}-{next(self._names)}"
        options = dict(KINDS[kind])
        options["do"] = options["do"].format(child=f"{name}-c")
        return spec(name, **options)

    def note(self, answer: dict[str, Any]) -> None:
        if "error" in answer:
            self.errors.append(answer["error"])
        elif isinstance(answer.get("result"), dict) and "id" in answer["result"]:
            self.made.append(answer["result"]["id"])

    async def step(self, call: tuple[str, Any]) -> None:
        what, arg = call
        if what == "create":
            self.note(await self.conn.call("job.create", {"spec": self.job(arg)}))
        elif what == "batch":
            frames = [("job.create", {"spec": self.job(k)}) for k in arg]
            for answer in await batch(self.conn, frames):
                self.note(answer)
        elif what == "run":
            ref = self.made[arg] if arg < len(self.made) else SENTINEL
            answer = await self.conn.call("job.run", {"ref": ref})
            self.errors += [answer["error"]] if "error" in answer else []
        elif what == "meddle":
            await self.meddle(arg)
        else:
            await self.session()

    async def meddle(self, how: str) -> None:
        method = "job.pause" if how == "pause-ref" else "job.cancel"
        params = {"tags": ["shared=1"]} if how == "cancel-tag" else {"refs": [SENTINEL]}
        answer = await self.conn.call(method, params)
        self.errors += [answer["error"]] if "error" in answer else []

    async def session(self) -> None:
        """system.session, then a hello with it on this connection (the issue's attack)."""
        answer = await self.conn.call("system.session", {})
        if "error" in answer:
            self.errors.append(answer["error"])
            return
        greeted = await hello(self.conn, answer["result"]["session"])
        assert "result" in greeted, greeted


async def owned(daemon: RealDaemon, owner: str) -> list[dict[str, Any]]:
    return list(await result(daemon, "job.list", {"owner": owner, "all": True}))


async def quiet(daemon: RealDaemon, owner: str) -> list[dict[str, Any]]:
    """The owner's jobs once no slash job is live and nothing runs (liveness bound)."""
    with trio.fail_after(90):
        while True:
            jobs = await owned(daemon, owner)
            busy = [
                j
                for j in jobs
                if j["status"] == "running"
                or (j["spec"]["action"]["type"] == "slash_cmd" and j["status"] == "pending")
            ]
            if not busy:
                return jobs
            await trio.sleep(0.2)


async def events_of(daemon: RealDaemon, owner: str, since: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    while True:
        page = await result(daemon, "events.list", {"since_seq": since, "limit": 1000})
        out += [e for e in page["events"] if e.get("owner") == owner]
        if len(page["events"]) < 1000:
            return out
        since = page["events"][-1]["seq"]


def most_live_at_once(events: list[dict[str, Any]]) -> int:
    """Replay: the largest number of the owner's jobs live at the same time."""
    live: set[str] = set()
    most = 0
    for e in events:
        if e["type"] == "job.created":
            live.add(e["job_id"])
        elif e.get("status") in ("completed", "failed", "cancelled", "timed_out", "skipped"):
            live.discard(e["job_id"])
        most = max(most, len(live))
    return most


def obeys_limits(job: dict[str, Any], token_id: str) -> None:
    """One job of the agent against every per-job limit."""
    job_spec = job["spec"]
    assert job["created_by"]["token_id"] == token_id, job["created_by"]
    assert job_spec["action"]["type"] in ALLOWED_ACTIONS, job_spec["action"]
    assert job_spec["wait"] is None or job_spec["budget"]["poll_interval"] >= MIN_INTERVAL
    schedule = job_spec["schedule"]
    if schedule["type"] == "interval":
        assert schedule["every"] >= MIN_INTERVAL, schedule
    created = datetime.fromisoformat(job["created_at"])
    expires = datetime.fromisoformat(job["expires_at"])
    assert (expires - created).total_seconds() <= MAX_TTL + 1, job
    if schedule["type"] == "once":
        assert datetime.fromisoformat(schedule["at"]) <= expires, schedule


async def one_example(daemon: RealDaemon, sequence: list[tuple[str, Any]]) -> None:
    prefix = f"prop{next(_examples)}"
    params = {"name": prefix, "agent": True, "limits": LIMITS}
    made = await result(daemon, "token.create", params)
    token, token_id, owner = made["token"], made["info"]["id"], made["info"]["owner"]
    before = await result(daemon, "job.get", {"ref": SENTINEL})
    tokens_before = {t["id"] for t in await result(daemon, "token.list", {})}
    since = (await result(daemon, "events.list", {"limit": 1}))["last_seq"]
    async with connect(daemon, token=token) as conn:
        driver = Driver(daemon, conn, prefix)
        for call in sequence:
            await driver.step(call)
            live = [j for j in await owned(daemon, owner) if j["finished_at"] is None]
            assert len(live) <= MAX_JOBS, (call, live)
    jobs = await quiet(daemon, owner)
    for job in jobs:
        obeys_limits(job, token_id)
    assert most_live_at_once(await events_of(daemon, owner, since)) <= MAX_JOBS
    assert {e["code"] for e in driver.errors} <= EXPECTED_ERRORS, driver.errors
    after = await result(daemon, "job.get", {"ref": SENTINEL})
    assert after["job"] == {**before["job"], "reason": after["job"]["reason"]}
    assert after["runs"] == before["runs"] == []
    assert {t["id"] for t in await result(daemon, "token.list", {})} == tokens_before
    await result(daemon, "token.revoke", {"ids": [token_id]})
    live = [j["id"] for j in jobs if j["finished_at"] is None]
    if live:
        await result(daemon, "job.cancel", {"refs": live})


#: The issue's own attack: a session, then a batch beyond every limit, then meddling.
ATTACK = [
    ("session", None),
    ("batch", ["shell", "every_fast", "every_ok", "every_ok", "every_ok", "slash_token"]),
    ("meddle", "cancel-ref"),
    ("create", "slash_ok"),
]


@example(sequence=ATTACK)
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(sequence=st.lists(calls, min_size=1, max_size=8))
def test_every_job_an_agent_gets_obeys_its_token(
    daemon: RealDaemon, sequence: list[tuple[str, Any]]
) -> None:
    """See the module docstring."""
    trio.run(one_example, daemon, sequence)
