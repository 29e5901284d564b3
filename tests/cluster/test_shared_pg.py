"""Settings every node shares (docs/cluster.md, "What is global"), with two real daemons
on a real PostgreSQL: a token made through one node works on the other and a revocation
through either is refused on both (open subscriptions there end too), also when no NOTIFY
announced it; the agents' kill switch, exclusion calendars and the shell policy changed
through one node hold on the other, and a node saving a calendar never drops another's.
Skipped with the reason where no PostgreSQL server answers."""

from __future__ import annotations

import json

import pytest
import trio
from gateway.rawws import connect, error_of
from support.authority import admin, as_token, new_token
from support.daemon_proc import Result, until

pytestmark = pytest.mark.slow
psycopg = pytest.importorskip("psycopg")

from support.cluster_pair import Pair, ok, query  # noqa: E402

#: A bound for a change to reach the other node (it takes ~1 s at most: a liveness bound).
REACH = 15.0


def refused_like(pair: Pair, token: str, *args: str) -> Result:
    """``gnomon ARGS`` with ``token`` on node B, once it is refused as node A refuses it
    (the node where it changed: a daemon alone answers the same); that refusal."""
    on_a = as_token(pair.a, token, *args)
    assert on_a.code != 0, on_a.out
    until(lambda: as_token(pair.b, token, *args).code == on_a.code, "B refuses it", REACH)
    on_b = as_token(pair.b, token, *args)
    assert on_b.err.splitlines()[-1:] == on_a.err.splitlines()[-1:]
    return on_b


async def _subscription_on_b_ends(pair: Pair, token: str) -> None:
    async with connect(pair.b, token=token) as conn:
        await conn.result("events.subscribe", {"types": ["job.created"]})
        await trio.to_thread.run_sync(ok, pair.a_home, "schedule", "seen", "--do", "noop")
        with trio.fail_after(REACH):
            conn.notes.append(await conn.recv())
        await trio.to_thread.run_sync(ok, pair.a_home, "token", "revoke", "t-shared")
        await trio.to_thread.run_sync(refused_like, pair, token, "jobs", "list")
        await trio.to_thread.run_sync(ok, pair.a_home, "schedule", "unseen", "--do", "noop")
        with trio.move_on_after(1.5):
            conn.notes.append(await conn.recv())
        error_of(await conn.call("job.list", {}), -32003)
    jobs = [n["params"]["event"]["job_id"] for n in conn.notes]
    assert len(jobs) == 1, conn.notes


def test_a_token_made_on_one_node_works_on_the_other_and_revoked_on_one_is_refused_on_both(
    pair: Pair,
) -> None:
    """A token made through B authenticates on A; revoked through A, B refuses it as A
    does, its open subscription on B delivers nothing more and its calls answer -32003."""
    token, _ = new_token(pair.b, "t-shared")
    until(lambda: as_token(pair.a, token, "jobs", "list").code == 0, "A knows it", REACH)
    trio.run(_subscription_on_b_ends, pair, token)


def test_a_revocation_no_notify_announced_is_caught_up_within_a_bound(pair: Pair) -> None:
    """A token revoked by writing its row in SQL (no NOTIFY) is refused on both nodes by
    the periodic catch-up alone."""
    token, token_id = new_token(pair.a, "t-quiet")
    until(lambda: as_token(pair.b, token, "jobs", "list").code == 0, "B knows it", REACH)
    with psycopg.connect(pair.url) as conn:
        conn.execute(
            "UPDATE tokens SET revoked_ts = extract(epoch FROM now()),"
            " record = jsonb_set(record::jsonb, '{revoked_at}', record::jsonb -> 'created_at')"
            "::text WHERE id = %s",
            (token_id,),
        )
    for daemon in (pair.a, pair.b):
        until(lambda d=daemon: as_token(d, token, "jobs", "list").code != 0, "refused", REACH)
    assert "revoked" in as_token(pair.b, token, "jobs", "list").err


def dry_run(pair: Pair) -> list[str | None]:
    """Node B's ``--dry-run`` of a daily noon job excluding ``hol``: each slot's exclusion."""
    shown = ok(
        pair.b_home,
        *("schedule", "noon", "--cron", "0 12 * * *", "--tz", "UTC", "--do", "noop"),
        *("--exclude", "hol", "--dry-run", "--from", "2030-01-01T00:00:00Z", "--count", "3"),
        "--json",
    ).json()
    return [f.get("excluded") for f in shown["next_fires"]]


def test_switch_calendars_and_policy_changed_through_one_node_hold_on_the_other(
    pair: Pair,
) -> None:
    """Agents off through A refuse an agent on B and pause its job there (on resumes it,
    revoking every agent token through A pauses it again);
    a calendar added through A excludes
    slots on B, and B adding its own keeps A's; a deny added through A refuses the
    command on B (and no policy.toml is written)."""
    agent, _ = new_token(pair.b, "bot", "--agent")
    live = ("schedule", "bot-live", "--every", "1h", "--do", "noop")
    assert as_token(pair.b, agent, *live).code == 0  # created through B: B owns it
    ok(pair.a_home, "agents", "off")
    make = ("schedule", "bot-job", "--every", "1h", "--do", "noop")
    assert "agents are switched off" in refused_like(pair, agent, *make).err
    until(lambda: pair.status("bot-live") == "paused", "B pauses its agent job", REACH)
    ok(pair.a_home, "agents", "on")
    until(lambda: as_token(pair.b, agent, *make).code == 0, "agents on again on B", REACH)
    until(lambda: pair.status("bot-live") == "pending", "B resumes its agent job", REACH)
    ok(pair.a_home, "token", "revoke", "--all-agents")  # pauses every node's agent jobs
    until(lambda: pair.status("bot-live") == "paused", "B's agent job paused", REACH)

    ok(pair.a_home, "calendar", "add", "hol", "--date", "2030-01-02")
    until(lambda: dry_run(pair) == [None, "hol", None], "B excludes by hol", REACH)
    ok(pair.b_home, "calendar", "add", "b-own", "--date", "2030-02-02")
    [(stored,)] = query(pair.url, "SELECT value FROM meta WHERE key = 'switch.calendars'")
    assert sorted(c["name"] for c in json.loads(stored)) == ["b-own", "hol"]
    listed = lambda: ok(pair.a_home, "calendar", "list", "--json").json()  # noqa: E731
    until(lambda: len(listed()["calendars"]) == 2, "A lists both", REACH)

    def touch(name: str) -> tuple[str, ...]:
        cmd = "shell: touch /tmp/gnomon-shared-policy"
        return ("schedule", name, "--when", "manual", "--do", cmd, "--i-know")

    ok(pair.b_home, *touch("touchy"))
    ok(pair.a_home, "policy", "deny", "touch *")
    until(lambda: admin(pair.b, *touch("t2")).code != 0, "B refuses touch", REACH)
    refused = admin(pair.b, *touch("t3"))
    assert "touch *" in refused.err, refused.err
    assert refused.code == admin(pair.a, *touch("t4")).code
    assert "touch *" in ok(pair.b_home, "policy", "list").out
    assert not (pair.a_home / "policy.toml").exists()
    ok(pair.b_home, "policy", "remove", "touch *")
    until(lambda: admin(pair.a, *touch("t5")).code == 0, "A allows touch again", REACH)
