""" "Why isn't it running?" — one line about a job's current situation (issue 12).

Pure: built from the job's state, ``now`` and what the caller knows about breakers. The
reason codes are those of skip events (:class:`~gnomon.runtime.model.enums.SkipReason`)
where they apply, so a user sees the same words in ``jobs show``, the dashboard and the
event stream.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import attrs

from gnomon.runtime.model.condition_dsl import format_condition
from gnomon.runtime.model.enums import JobStatus, Outcome
from gnomon.runtime.model.schedule import ManualSchedule
from gnomon.runtime.model.state import FirePhase, FireState, JobState


@attrs.frozen
class Reason:
    """A reason code and the sentence that explains it."""

    code: str
    text: str


def _when(t: datetime, now: datetime) -> str:
    seconds = (t - now).total_seconds()
    if seconds <= 0:
        return f"{t.isoformat()} (due now)"
    s = int(seconds)
    d, rem = divmod(s, 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    parts = [f"{d}d" if d else "", f"{h}h" if h else "", f"{m}m" if m and not d else ""]
    parts.append(f"{sec}s" if not (d or h) else "")
    return f"{t.isoformat()} (in {''.join(parts) or '0s'})"


def explain(
    state: JobState,
    now: datetime,
    *,
    open_breakers: Mapping[str, datetime] | None = None,
    breaker_key: str | None = None,
) -> Reason:
    """The current reason, most specific first.

    ``open_breakers`` maps open breaker keys to the time they admit a probe;
    ``breaker_key`` is this job's action breaker key.
    """
    s = state
    name = s.spec.name
    refusal = _policy_refusal(s, now)
    if refusal is not None:
        return refusal
    if s.status.terminal:
        return Reason(s.status.value, f"{name} ended {s.status.value}: {s.message}".rstrip(": "))
    if s.status is JobStatus.PAUSED:
        why = f" ({s.message})" if s.message and s.message != "paused" else ""
        return Reason("paused", f"paused{why}; `gnomon jobs resume {name}` continues it")
    if s.status is JobStatus.BLOCKED:
        left = [d.name for d in s.dependencies if d.status is None]
        return Reason("blocked", f"blocked: waiting for {', '.join(left) or 'its dependencies'}")
    for fire in s.fires:
        reason = _fire_reason(s, fire, now)
        if reason is not None:
            return reason
    if breaker_key and open_breakers and breaker_key in open_breakers:
        until = open_breakers[breaker_key]
        return Reason("breaker_open", f"breaker {breaker_key} open until {until.isoformat()}")
    if isinstance(s.spec.schedule, ManualSchedule):
        return Reason("manual", "manual: fires only by `gnomon jobs run`, a trigger or an agent")
    if s.next_fire_at is not None and s.message.startswith("excluded: "):
        nxt = _when(s.next_fire_at, now)
        return Reason("excluded", f"last slot {s.message}; next fire at {nxt}")
    if s.next_fire_at is not None:
        return Reason("scheduled", f"next fire at {_when(s.next_fire_at, now)}")
    return Reason("idle", "nothing scheduled")


def hold(state: JobState) -> str | None:
    """What keeps ``next_fire_at`` from happening as shown, in a few words —
    ``paused``, ``blocked by smoke, lint``, ``waiting for tcp://db:5432`` — or ``None``
    when the next fire is on time (or there is none)."""
    s = state
    if s.status.terminal:
        return None
    if s.status is JobStatus.PAUSED:
        return "paused"
    if s.status is JobStatus.BLOCKED:
        left = [d.name for d in s.dependencies if d.status is None]
        return f"blocked by {', '.join(left) or 'its dependencies'}"
    if s.spec.wait is not None and any(f.phase is FirePhase.WAITING for f in s.fires):
        return f"waiting for {format_condition(s.spec.wait.condition)}"
    return None


def _policy_refusal(s: JobState, now: datetime) -> Reason | None:
    """The shell policy refused the last run (re-checked at fire time), if it did."""
    refused = s.message.startswith("shell command") and (
        "policy" in s.message or "bypass_safety" in s.message
    )
    if not refused or s.last_outcome is not Outcome.FAILED or s.fires:
        return None
    text = f"refused by policy: {s.message}"
    if s.status.terminal:
        return Reason("policy", f"{s.spec.name} ended {s.status.value}; {text}")
    if s.next_fire_at is not None and s.status is JobStatus.PENDING:
        text += f"; next fire at {_when(s.next_fire_at, now)}"
    return Reason("policy", text)


def _fire_reason(s: JobState, fire: FireState, now: datetime) -> Reason | None:
    phase = fire.phase
    if phase is FirePhase.WAITING and fire.wait is not None:
        last = fire.wait.last_result or "no poll yet"
        what = "its condition" if s.spec.wait is None else format_condition(s.spec.wait.condition)
        return Reason(
            "waiting",
            f"waiting for {what} ({fire.wait.polls} poll(s), last: {last}); "
            f"gives up at {fire.wait.deadline.isoformat()}",
        )
    if phase is FirePhase.RUNNING:
        return Reason("running", f"running attempt {fire.attempt} ({fire.run_id})")
    if phase is FirePhase.BACKOFF and fire.retry_at is not None:
        err = f" after: {fire.error}" if fire.error else ""
        return Reason("retrying", f"retry {fire.attempt + 1} at {_when(fire.retry_at, now)}{err}")
    return None
