"""Lists page (issue 17, item 13): with 2,005 jobs, runs with full outputs and thousands of
events, `gnomon jobs --all`, `jobs history`, `jobs logs`, `events` and bulk commands work
through the real CLI, and no answer of the daemon exceeds one 1 MiB frame."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import trio
from gateway.conftest import LIMITS
from gateway.rawws import Raw, connect, hourly_spec
from support.daemon_proc import RealDaemon, cli_env, gnomon

from gnomon.runtime.protocol_paging import MAX_REPLY_BYTES

pytestmark = pytest.mark.slow
JOBS = 2005
RUNS = 40
HALF = 1000  # jobs tagged ``half``: their views are over 1 MiB too
LONG = "n" * 110  # long names: the jobs' events alone are over 1 MiB
BIG = "head -c 40000 /dev/zero | tr '\\0' ' '"  # more than a run keeps (32 KiB)


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """A daemon with the default frame size and admission rates raised, holding 2,005
    long-named hourly jobs tagged ``bulk`` and one job with 40 runs of 32 KiB output each."""
    home = tmp_path_factory.mktemp("paging") / "home"
    limits = {k: v for k, v in LIMITS.items() if "MAX_MESSAGE" not in k}
    running = RealDaemon.start(home, env=cli_env(home, **limits))
    try:
        trio.run(_populate, running)
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")


async def _populate(daemon: RealDaemon) -> None:
    async with connect(daemon) as conn:
        for start in range(0, JOBS, 100):
            await conn.send([_create(i) for i in range(start, min(JOBS, start + 100))])
            answers = await conn.recv()
            assert all("result" in a for a in answers), answers[:2]
        await conn.result("job.create", {"spec": _big_spec()})
        for cycle in range(1, RUNS + 1):
            await _run_to_end(conn, cycle)


def _create(i: int) -> dict[str, Any]:
    tags = {"bulk": "yes"} | ({"half": ""} if i < HALF else {})
    spec = hourly_spec(f"many-{i:04d}-{LONG}") | {"tags": tags}
    return {"jsonrpc": "2.0", "id": i, "method": "job.create", "params": {"spec": spec}}


def _big_spec() -> dict[str, Any]:
    spec = hourly_spec("loud")
    spec["action"] = {"type": "shell", "command": BIG}
    return spec


async def _run_to_end(conn: Raw, cycle: int) -> None:
    """Fire ``loud`` and wait until that fire (its ``cycle``) has finished."""
    await conn.result("job.run", {"ref": "loud"})
    with trio.fail_after(30):
        while True:
            job = (await conn.result("job.get", {"ref": "loud"}))["job"]
            if job["cycle"] >= cycle and job["status"] != "running":
                return
            await trio.sleep(0.05)


async def _all_runs(conn: Raw) -> list[dict[str, Any]]:
    """Every run of ``loud``, oldest first, following ``next_cursor`` back in time."""
    pages: list[list[dict[str, Any]]] = []
    cursor = None
    while True:
        page = await conn.result("job.logs", {"ref": "loud", "cursor": cursor})
        pages.append(page["runs"])
        cursor = page["next_cursor"]
        if cursor is None:
            return [run for runs in reversed(pages) for run in runs]


async def _frames(conn: Raw, method: str, params: dict[str, Any]) -> tuple[int, Any]:
    """One call's raw answer size in bytes, and its result."""
    await conn.send({"jsonrpc": "2.0", "id": "sized", "method": method, "params": params})
    with trio.fail_after(300):  # a liveness bound: 2,005 jobs paused on a loaded machine
        text = await conn.ws.get_message()
    answer = json.loads(text)
    assert "result" in answer, answer
    return len(text), answer["result"]


def test_cli_lists_every_job(daemon: RealDaemon) -> None:
    """`jobs --all --json` and `jobs history` list all 2,006 jobs once each (the CLI
    follows the cursor), live jobs ordered by next fire as before."""
    listed = gnomon(daemon.home, "jobs", "--all", "--json", timeout=120)
    assert listed.code == 0, listed.err
    jobs = listed.json()
    assert len(jobs) == JOBS + 1
    assert len({j["id"] for j in jobs}) == JOBS + 1
    fires = [j["next_fire_at"] for j in jobs]
    assert fires == sorted(fires)
    table = gnomon(daemon.home, "jobs", "history", timeout=120)
    assert table.code == 0, table.err
    assert sum("many-" in line for line in table.out.splitlines()) == JOBS
    tagged = gnomon(daemon.home, "jobs", "--tag", "bulk=yes", "--json", timeout=120)
    assert len(tagged.json()) == JOBS


async def test_job_list_pages_fit_one_frame(daemon: RealDaemon) -> None:
    """Each `job.list` answer fits in 1 MiB and the cursor visits every job exactly once,
    also with a small explicit limit; a foreign or damaged cursor is -32602."""
    async with connect(daemon) as conn:
        seen: list[str] = []
        cursor, pages = None, 0
        while True:
            size, page = await _frames(conn, "job.list", {"all": True, "cursor": cursor})
            assert size <= MAX_REPLY_BYTES
            seen += [j["id"] for j in page["jobs"]]
            pages, cursor = pages + 1, page["next_cursor"]
            if cursor is None:
                break
        assert pages > 1
        assert len(seen) == len(set(seen)) == JOBS + 1
        small = await conn.result("job.list", {"limit": 7, "tags": ["bulk"]})
        assert len(small["jobs"]) == 7
        assert small["next_cursor"] is not None
        for bad in ("garbage!", small["next_cursor"] + "x"):
            err = (await conn.call("job.list", {"cursor": bad}))["error"]
            assert (err["code"], err["data"]["field"]) == (-32602, "cursor"), err
        foreign = {"ref": "loud", "cursor": small["next_cursor"]}
        assert (await conn.call("job.logs", foreign))["error"]["code"] == -32602


async def test_batch_answer_fits_one_frame(daemon: RealDaemon) -> None:
    """A batch of five full job.list pages is answered in one frame of at most 1 MiB:
    the first page, then a -32004 (reason too_large) for each call that did not fit."""
    call = {"jsonrpc": "2.0", "method": "job.list", "params": {"all": True}}
    calls = [call | {"id": i} for i in range(5)]
    async with connect(daemon) as conn:
        await conn.send(calls)
        with trio.fail_after(120):
            text = await conn.ws.get_message()
    assert len(text) <= MAX_REPLY_BYTES
    answers = json.loads(text)
    assert [a["id"] for a in answers] == list(range(5))
    assert answers[0]["result"]["next_cursor"] is not None
    for refused in answers[1:]:
        assert refused["error"]["code"] == -32004
        assert refused["error"]["data"]["reason"] == "too_large"


def test_bulk_command_over_a_thousand_jobs(daemon: RealDaemon) -> None:
    """Pausing and resuming 1,000 jobs by tag works; the answer lists what fits in one
    frame and says how many more there are."""
    paused = gnomon(daemon.home, "jobs", "pause", "--tag", "half", timeout=300)
    assert paused.code == 0, paused.err
    assert f"{HALF} job(s) paused" in paused.out
    assert "more (not listed" in paused.out
    resumed = gnomon(daemon.home, "jobs", "resume", "--tag", "half", "--json", timeout=300)
    assert resumed.code == 0, resumed.err
    result = resumed.json()
    assert result["count"] == HALF
    assert 0 < len(result["jobs"]) < HALF


async def test_logs_and_events_page(daemon: RealDaemon) -> None:
    """`job.logs` (40 runs of 32 KiB) and `events.list` (thousands of events) answer
    within 1 MiB and say where to continue; following them yields everything once."""
    async with connect(daemon) as conn:
        size, page = await _frames(conn, "job.logs", {"ref": "loud"})
        assert size <= MAX_REPLY_BYTES
        assert 0 < len(page["runs"]) < RUNS
        assert page["next_cursor"] is not None
        runs = await _all_runs(conn)
        assert len({r["run_id"] for r in runs}) == len(runs) == RUNS
        assert [r["started_at"] for r in runs] == sorted(r["started_at"] for r in runs)
        size, events = await _frames(conn, "events.list", {"since_seq": 0, "limit": 5000})
        assert size <= MAX_REPLY_BYTES
        assert events["more"]  # cut by bytes: 2,000+ events of long names are over 1 MiB
        assert len(events["events"]) < min(5000, events["last_seq"])
    shown = gnomon(daemon.home, "jobs", "logs", "loud", timeout=120)
    assert shown.code == 0, shown.err
    assert shown.out.count("── cycle") == RUNS
    every = gnomon(daemon.home, "events", "--json", timeout=120)
    assert every.code == 0, every.err
    seqs = [json.loads(line)["seq"] for line in every.out.splitlines()]
    assert seqs == list(range(1, len(seqs) + 1))
    assert len(seqs) > JOBS
