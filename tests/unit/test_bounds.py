"""The bounds of every time value and count (runtime/model/bounds.py), on every path that
builds a job: wire structuring (gateway, MCP, store), the CLI's options, the --when DSL,
and the admission floor ``limits.min_interval`` (hypothesis over any float)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.actors.admission import check_intervals
from gnomon.cli.jobspec import spec_from_options
from gnomon.runtime.config import load_config
from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.bounds import INTERVAL_FLOOR, MAX_COUNT, MAX_DURATION
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.when import parse_when

NOW = datetime(2026, 6, 1, tzinfo=UTC)
ANY_FLOAT = st.floats() | st.sampled_from(
    [0.0, -0.0, 1e-5, 0.0099, 0.01, 1e308, -1e308, math.inf, -math.inf, math.nan, 5e-324]
)

#: (where in the spec, the lowest accepted value, whether the lowest is excluded)
DURATION_FIELDS: dict[tuple[str, ...], tuple[float, bool]] = {
    ("schedule", "every"): (INTERVAL_FLOOR, False),
    ("schedule", "jitter"): (0.0, False),
    ("budget", "poll_interval"): (INTERVAL_FLOOR, False),
    ("budget", "wait_timeout"): (0.0, True),
    ("budget", "action_timeout"): (0.0, True),
    ("budget", "backoff_initial"): (0.0, False),
    ("budget", "backoff_max"): (0.0, False),
    ("ttl",): (0.0, False),
    ("misfire_grace",): (0.0, False),
    ("action", "timeout"): (0.0, True),
}


def base_spec() -> dict[str, Any]:
    """An hourly webhook job in wire form."""
    return {
        "name": "b",
        "schedule": {"type": "interval", "every": 3600.0, "anchor": NOW.isoformat()},
        "action": {"type": "webhook", "url": "http://127.0.0.1:9/"},
        "budget": {},
    }


def accepted(value: float, low: float, open_low: bool) -> bool:
    above = value > low if open_low else value >= low
    return above and value <= MAX_DURATION


@given(st.sampled_from(sorted(DURATION_FIELDS)), ANY_FLOAT)
def test_every_duration_is_bounded_on_the_wire(path: tuple[str, ...], value: float) -> None:
    """Any float in any duration field: structured when in range, else InvalidInput whose
    field is the path and whose message names the accepted range — never another error."""
    data = base_spec()
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    low, open_low = DURATION_FIELDS[path]
    if accepted(value, low, open_low):
        spec = wire.structure(data, JobSpec)
        held = spec
        for key in path:
            held = getattr(held, key)
        assert held == value
        return
    with pytest.raises(InvalidInput) as caught:
        wire.structure(data, JobSpec)
    assert caught.value.field == ".".join(path)
    if math.isfinite(value):
        assert "at most 10 years" in caught.value.message


@given(st.sampled_from(["max_retries", "max_polls"]), st.integers() | st.floats())
def test_counts_are_bounded_on_the_wire(name: str, value: Any) -> None:
    """Retry and poll counts outside 0…MAX_COUNT (or not whole) are invalid input."""
    data = base_spec()
    data["budget"][name] = value
    whole = isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())
    if whole and 0 <= value <= MAX_COUNT:
        assert getattr(wire.structure(data, JobSpec).budget, name) == value
    else:
        with pytest.raises(InvalidInput):
            wire.structure(data, JobSpec)


@given(st.sampled_from(["anchor", "at"]), st.datetimes(timezones=st.just(UTC)))
def test_times_are_bounded_on_the_wire(name: str, when: datetime) -> None:
    """An anchor or a one-shot time before 1970 or from 9000 on is invalid input."""
    data = base_spec()
    if name == "at":
        data["schedule"] = {"type": "once", "at": when.isoformat()}
    else:
        data["schedule"]["anchor"] = when.isoformat()
    if 1970 <= when.year < 9000:
        wire.structure(data, JobSpec)
    else:
        with pytest.raises(InvalidInput, match="9000-01-01") as caught:
            wire.structure(data, JobSpec)
        assert caught.value.field == f"schedule.{name}"


@given(st.sampled_from(["timeout", "wait_timeout", "poll", "backoff", "ttl"]), ANY_FLOAT)
def test_cli_duration_options_are_bounded(option: str, value: float) -> None:
    """Each CLI duration option with any number: a spec, or InvalidInput (exit 2) naming
    the option — never another exception."""
    options = {"name": "c", "do": "noop", "every": "1h", option: value}
    low = INTERVAL_FLOOR if option == "poll" else 0.0
    if low <= value <= MAX_DURATION and (value > 0 or "timeout" not in option):
        assert spec_from_options(options, now=NOW, tz="UTC") is not None
        return
    with pytest.raises(InvalidInput) as caught:
        spec_from_options(options, now=NOW, tz="UTC")
    assert caught.value.exit_code == 2
    assert caught.value.field == option


@given(st.floats(min_value=0, max_value=1e13, allow_nan=False))
def test_when_dsl_intervals_are_bounded(seconds: float) -> None:
    """``every N`` and ``in N``: schedules inside the bounds, InvalidInput outside."""
    text = f"{seconds:.3f}"
    for form, low in (("every", INTERVAL_FLOOR), ("in", 0.0)):
        parsed = round(float(text), 3)
        try:
            parse_when(f"{form} {text}", now=NOW, tz="UTC")
        except InvalidInput:
            assert not (low <= parsed <= MAX_DURATION and parsed > 0)
        else:
            assert low <= parsed <= MAX_DURATION


@given(st.floats(min_value=INTERVAL_FLOOR, max_value=MAX_DURATION))
def test_admission_floor_names_value_limit_and_key(every: float) -> None:
    """Under limits.min_interval = 1 s, a shorter interval is refused naming the field, the
    limit and the config key; a longer one passes."""
    data = base_spec()
    data["schedule"]["every"] = every
    spec = wire.structure(data, JobSpec)
    if every >= 1.0:
        check_intervals(spec, 1.0)
        return
    with pytest.raises(InvalidInput) as caught:
        check_intervals(spec, 1.0)
    assert caught.value.field == "schedule.every"
    assert "limits.min_interval" in caught.value.message
    assert "1s" in caught.value.message


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(None, 1.0), ("100ms", 0.1), ("10ms", INTERVAL_FLOOR), ("5ms", None), ("-1", None)],
)
def test_limits_min_interval_cannot_go_under_the_floor(value: str | None, seconds: float) -> None:
    """limits.min_interval defaults to 1 s, may be lowered to 10 ms and no further."""
    env = {} if value is None else {"GNOMON_LIMITS_MIN_INTERVAL": value}
    if seconds is not None:
        assert load_config(env=env)["limits.min_interval"] == seconds
        return
    with pytest.raises(InvalidInput, match=r"limits\.min_interval") as caught:
        load_config(env=env)
    assert caught.value.accepted
    if value == "5ms":
        assert "10ms" in caught.value.message
