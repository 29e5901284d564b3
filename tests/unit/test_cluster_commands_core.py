"""The pure rules of commands between nodes (runtime/cluster/commands_core.py): where a
command goes, how a caller waits, and results that survive the trip through text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.cluster import commands_core as core
from gnomon.runtime.errors import Conflict, from_wire


def test_a_command_goes_to_the_owner_only_for_a_job_this_node_neither_indexes_nor_holds() -> None:
    assert core.route(indexed_here=True, partition_held=False) == "local"
    assert core.route(indexed_here=False, partition_held=True) == "local"
    assert core.route(indexed_here=False, partition_held=False) == "owner"


def test_only_commands_that_a_repeat_cannot_change_are_taken_over_from_a_dead_claimer() -> None:
    assert core.REPEATABLE < core.COMMANDS
    assert "run_now" not in core.REPEATABLE
    assert core.decode(core.ABANDONED) is not None


@given(st.integers(min_value=0, max_value=60))
def test_polls_back_off_to_the_cap_and_a_claimed_command_gets_its_grace(polls: int) -> None:
    policy = core.WaitPolicy()
    delay = policy.poll_after(polls)
    assert policy.first_poll <= delay <= policy.max_poll
    assert delay <= policy.poll_after(polls + 1)
    assert policy.deadline(claimed=True) == policy.limit + policy.grace > policy.deadline(False)


@given(st.integers(min_value=-32700, max_value=-32000), st.text(), st.text())
def test_results_read_back_as_they_were_written(code: int, message: str, hint: str) -> None:
    assert core.decode(core.encode_ok()) is None
    error = core.decode(core.encode_error(code, message, {"hint": hint}))
    assert error == {"code": code, "message": message, "data": {"hint": hint}}


def test_a_refusal_becomes_the_same_error_on_the_calling_node() -> None:
    text = core.encode_error(Conflict.rpc_code, "cannot pause job x: it is paused")
    error = core.decode(text)
    assert error is not None
    exc = from_wire(error)
    assert isinstance(exc, Conflict)
    assert exc.message == "cannot pause job x: it is paused"


@pytest.mark.parametrize("bad", ['{"ok": false}', "[]", '{"error": 3}'])
def test_other_text_is_not_a_result(bad: str) -> None:
    with pytest.raises(ValueError, match="not a command result"):
        core.decode(bad)
