"""The state machine's bookkeeping: the fast ``evolved`` and ``same_state`` agree with attrs."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from unit.model_strategies import job_states, opt_datetimes, statuses, text

from gnomon.actors.core.job.tx import evolved, same_state
from gnomon.runtime.model.state import JobState

changes = st.fixed_dictionaries(
    {},
    optional={
        "status": statuses,
        "message": text,
        "cycle": st.integers(min_value=0, max_value=99),
        "next_fire_at": opt_datetimes,
        "fires": st.just(()),
        "attempts": st.integers(min_value=0, max_value=9),
    },
)


@given(state=job_states, change=changes)
def test_evolved_is_attrs_evolve(state: JobState, change: dict[str, Any]) -> None:
    """Same fields, same equality and hash, the original untouched."""
    before = attrs.asdict(state, recurse=False)
    fast = evolved(state, **change)
    assert fast == attrs.evolve(state, **change)
    assert attrs.asdict(fast, recurse=False) == attrs.asdict(
        attrs.evolve(state, **change), recurse=False
    )
    assert attrs.asdict(state, recurse=False) == before


@given(state=job_states)
def test_evolved_refuses_an_unknown_field(state: JobState) -> None:
    with pytest.raises(AttributeError):
        evolved(state, no_such_field=1)


@given(state=job_states, change=changes, other=job_states)
def test_same_state_is_equality(state: JobState, change: dict[str, Any], other: JobState) -> None:
    """Equal to ``==`` for a derived state (shared fields) and for an unrelated one."""
    derived = evolved(state, **change)
    assert same_state(derived, state) == (derived == state)
    assert same_state(other, state) == (other == state)
    assert same_state(state, attrs.evolve(state))
