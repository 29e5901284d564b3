"""Building job specs from the DSL texts of docs/commands.md, for client code."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model.action_dsl import parse_action
from gnomon.runtime.model.condition_dsl import parse_condition
from gnomon.runtime.model.job import JobSpec, WaitSpec
from gnomon.runtime.model.times import detect_local_zone
from gnomon.runtime.model.when import parse_when


def job_spec(
    name: str,
    *,
    when: str,
    do: str,
    wait: str | None = None,
    tags: dict[str, str] | None = None,
    tz: str | None = None,
    now: datetime | None = None,
    **fields: Any,
) -> JobSpec:
    """A job spec: ``when`` a schedule (``"in 5m"``, ``"every 1h"``, ``"cron 0 3 * * *"``,
    ``"now"``…), ``do`` an action (``"shell: make backup"``, ``"http: GET https://…"``,
    ``"noop"``…), ``wait`` a condition to wait for before each fire (``"tcp: db:5432"``…);
    relative times count from ``now`` (default: the current time) in ``tz`` (default: the
    local zone). ``fields`` sets any other :class:`~gnomon.runtime.model.job.JobSpec` field
    (``budget``, ``depends_on``, ``description``…).

    Raises:
        InvalidInput: a text does not parse or a field is out of bounds (the message
            names the bad token and the accepted forms).
    """
    schedule = parse_when(when, now=now or datetime.now(UTC), tz=tz or detect_local_zone())
    waiting = None if wait is None else WaitSpec(condition=parse_condition(wait))
    try:
        return JobSpec(
            name=name,
            schedule=schedule,
            action=parse_action(do),
            wait=waiting,
            tags=dict(tags or {}),
            **fields,
        )
    except InvalidInput:
        raise
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"bad job spec: {exc}", token=name, field="spec") from None
