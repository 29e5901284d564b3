"""A live token name is unique across a cluster (docs/cluster.md, "Shared settings"): two
real daemons on one PostgreSQL database race ``token.create`` of one name, round after
round; exactly one wins every time, and the loser is refused with the very error a daemon
alone gives for a taken name (JSON-RPC -32002, same message and hint). Skipped with the
reason where no PostgreSQL server answers."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from gateway.rawws import Raw, connect, error_of

pytestmark = pytest.mark.slow
pytest.importorskip("psycopg")

from support.cluster_pair import Pair, query  # noqa: E402

ROUNDS = 8


async def _race(a: Raw, b: Raw, name: str) -> dict[str, dict[str, Any]]:
    """Both nodes create a token named ``name`` at once; each node's whole answer."""
    answers: dict[str, dict[str, Any]] = {}

    async def create(key: str, conn: Raw) -> None:
        answers[key] = await conn.call("token.create", {"name": name, "scope": "read"})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(create, "a", a)
        nursery.start_soon(create, "b", b)
    return answers


async def _rounds(pair: Pair) -> None:
    async with connect(pair.a) as a, connect(pair.b) as b:
        conns = {"a": a, "b": b}
        for i in range(ROUNDS):
            name = f"race-{i}"
            answers = await _race(a, b, name)
            won = [k for k, msg in answers.items() if "result" in msg]
            assert len(won) == 1, answers  # exactly one of the two creates succeeds
            (lost,) = set(answers) - set(won)
            refused = error_of(answers[lost], -32002)
            assert refused["message"] == f"a live token is already named {name!r}", refused
            # a daemon alone (the winner's, whose book holds the token) answers the same
            again = error_of(await conns[won[0]].call("token.create", {"name": name}), -32002)
            assert again == refused


def test_two_nodes_racing_to_create_one_token_name_exactly_one_wins(pair: Pair) -> None:
    trio.run(_rounds, pair)
    rows = query(
        pair.url,
        "SELECT record::jsonb ->> 'name', count(*) FROM tokens WHERE revoked_ts IS NULL"
        " GROUP BY 1 ORDER BY 1",
    )
    assert rows == [(f"race-{i}", 1) for i in range(ROUNDS)]
