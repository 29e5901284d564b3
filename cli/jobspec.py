"""Options → :class:`JobSpec`, shared by ``gnomon schedule``, ``gnomon wait``, the REPL and
the MCP tools (which mirror the CLI flags with underscores: docs/agents.md).

Every value is validated here and every error names its option (``--timeout: bad
duration 'x'…``), so nothing reaches the daemon that the client could have refused.
Durations may be DSL strings (``5m``) or numbers of seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.action_dsl import parse_action
from gnomon.runtime.model.actions import Action
from gnomon.runtime.model.condition_dsl import parse_condition
from gnomon.runtime.model.durations import DURATION_FORMS, parse_duration
from gnomon.runtime.model.enums import (
    DstFold,
    DstGap,
    Misfire,
    OnTimeout,
    Overlap,
    TriggerRule,
    TriggersOn,
)
from gnomon.runtime.model.job import Budget, JobSpec, WaitSpec, check_new_name
from gnomon.runtime.model.schedule import Schedule, WhenReadySchedule, with_jitter
from gnomon.runtime.model.times import detect_local_zone
from gnomon.runtime.model.when import schedule_from_flags

Options = Mapping[str, Any]

_BUDGET_DURATIONS = {
    "timeout": "action_timeout",
    "wait_timeout": "wait_timeout",
    "poll": "poll_interval",
    "backoff": "backoff_initial",
    "backoff_max": "backoff_max",
}


def flag(name: str) -> str:
    """The CLI spelling of option ``name`` (``wait_timeout`` → ``--wait-timeout``)."""
    return "--" + name.replace("_", "-")


def _retag(exc: InvalidInput, name: str) -> InvalidInput:
    exc.message = f"{flag(name)}: {exc.message}"
    exc.args = (exc.message,)
    exc.field = name
    return exc


def duration(options: Options, name: str) -> float | None:
    """Option ``name`` as seconds (a DSL string or a number), or ``None`` if absent."""
    value = options.get(name)
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidInput(
            f"{flag(name)}: expected a duration, got {value!r}",
            token=str(value),
            accepted=DURATION_FORMS,
            field=name,
        )
    if isinstance(value, int | float):
        if value < 0:
            raise InvalidInput(
                f"{flag(name)}: durations cannot be negative ({value})",
                token=str(value),
                accepted=DURATION_FORMS,
                field=name,
            )
        return float(value)
    try:
        return parse_duration(str(value))
    except InvalidInput as exc:
        raise _retag(exc, name) from None


def _checked(cls: type, field: str, value: Any, name: str) -> Any:
    """``value`` for ``cls.field`` if that field's validator (its bounds) accepts it.

    Raises:
        InvalidInput: naming the option ``name``, the value and the accepted range.
    """
    attribute = attrs.fields_dict(cls)[field]
    if attribute.validator is not None:
        try:
            attribute.validator(None, attribute, value)
        except ValueError as exc:
            raise InvalidInput(
                f"{flag(name)}: {exc}",
                token=str(value),
                accepted=getattr(exc, "accepted", ()),
                field=name,
            ) from None
    return value


def _number(options: Options, name: str, kind: type[int] | type[float]) -> Any:
    value = options.get(name)
    if value is None:
        return None
    try:
        number = kind(value)
        if isinstance(value, bool) or (kind is int and float(value) != number):
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(
            f"{flag(name)}: expected {'a whole number' if kind is int else 'a number'}, "
            f"got {value!r}",
            token=str(value),
            field=name,
        ) from None
    return number


def _choice(options: Options, name: str, enum: type[Any]) -> Any:
    value = options.get(name)
    if value is None:
        return None
    try:
        return enum(str(value).lower().replace("-", "_"))
    except ValueError:
        accepted = [e.value for e in enum]
        raise InvalidInput(
            f"{flag(name)}: unknown value {value!r}",
            token=str(value),
            accepted=accepted,
            field=name,
        ) from None


def pairs(values: Sequence[str] | None, name: str, *, need_value: bool) -> dict[str, str]:
    """``k=v`` (or ``k`` when ``need_value`` is false) items as a dict."""
    out: dict[str, str] = {}
    for item in values or ():
        key, sep, value = str(item).partition("=")
        if not key or (need_value and not sep):
            form = "KEY=VALUE" if need_value else "key or key=value"
            raise InvalidInput(
                f"{flag(name)}: bad item {item!r}", token=str(item), accepted=[form], field=name
            )
        out[key.strip()] = value
    return out


def _action(options: Options, name: str) -> Action | None:
    text = options.get(name)
    if text is None:
        return None
    try:
        return parse_action(str(text))
    except InvalidInput as exc:
        raise _retag(exc, name) from None


def action_of(options: Options) -> Action:
    """The job's action from ``do`` or ``do_json`` (exactly one)."""
    if options.get("do") is not None and options.get("do_json") is not None:
        raise InvalidInput("--do and --do-json both give the action; give one", field="do")
    if options.get("do_json") is not None:
        raw = options["do_json"]
        text = raw if isinstance(raw, str) else wire.to_json(raw)
        try:
            structured: Action = wire.from_json(text, Action)
        except InvalidInput as exc:
            raise _retag(exc, "do_json") from None
        return structured
    action = _action(options, "do")
    if action is None:
        raise InvalidInput(
            "--do is required: what should the job do?",
            token="--do",
            accepted=["--do 'shell: CMD'", "--do 'POST URL'", "--do noop", "--do-json JSON"],
            field="do",
        )
    return action


def _wait(options: Options) -> WaitSpec | None:
    text = options.get("until") or options.get("wait")
    on_timeout = _choice(options, "on_timeout", OnTimeout) or OnTimeout.FAIL
    fallback = _action(options, "fallback")
    if text is None:
        if options.get("on_timeout") or fallback:
            raise InvalidInput("--on-timeout and --fallback need --wait/--until", field="wait")
        return None
    try:
        condition = parse_condition(str(text))
    except InvalidInput as exc:
        raise _retag(exc, "until" if options.get("until") else "wait") from None
    if fallback is not None and on_timeout is OnTimeout.FAIL and options.get("on_timeout") is None:
        on_timeout = OnTimeout.FALLBACK
    if (on_timeout is OnTimeout.FALLBACK) != (fallback is not None):
        raise InvalidInput(
            "--on-timeout fallback and --fallback ACTION go together",
            token="--on-timeout",
            accepted=[
                "--on-timeout fallback --fallback 'shell: …'",
                "--on-timeout fail",
                "--on-timeout fire_anyway",
            ],
            field="on_timeout",
        )
    return WaitSpec(condition=condition, on_timeout=on_timeout, fallback=fallback)


def _budget(options: Options) -> Budget:
    changes: dict[str, Any] = {}
    for name, field in _BUDGET_DURATIONS.items():
        value = duration(options, name)
        if value is not None:
            changes[field] = _checked(Budget, field, value, name)
    for name, field, kind in (
        ("max_retries", "max_retries", int),
        ("max_polls", "max_polls", int),
        ("backoff_mult", "backoff_mult", float),
        ("backoff_jitter", "backoff_jitter", float),
    ):
        value = _number(options, name, kind)
        if value is not None:
            changes[field] = _checked(Budget, field, value, name)
    try:
        return Budget(**changes)
    except ValueError as exc:
        raise InvalidInput(f"bad budget: {exc}", field="budget") from None


_BARE_NUMBER = re.compile(r"\s*\d+(\.\d*)?\s*")


def fire_jitter(options: Options) -> float:
    """``--jitter DUR``: the fire spread in seconds (0 when absent).

    Raises:
        InvalidInput: a bare number (the retry jitter fraction is ``--backoff-jitter``), or
            a bad duration.
    """
    value = options.get("jitter")
    if value is None:
        return 0.0
    if isinstance(value, int | float) or _BARE_NUMBER.fullmatch(str(value)):
        raise InvalidInput(
            f"--jitter: {value!r} is a bare number; --jitter takes a duration that spreads "
            "each fire (e.g. --jitter 10m); the retry jitter fraction is --backoff-jitter "
            f"{value}",
            token=str(value),
            accepted=("--jitter 10m", "--jitter 90s", "--backoff-jitter 0.2"),
            field="jitter",
        )
    return duration(options, "jitter") or 0.0


def _texts(options: Options, name: str) -> tuple[str, ...]:
    """A repeatable text option (one string or a list of them)."""
    value = options.get(name)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def spec_from_options(options: Options, *, now: datetime, tz: str | None = None) -> JobSpec:
    """A validated :class:`JobSpec` from CLI-style options (see the module docstring).

    Raises:
        InvalidInput: any option is bad (the message names it).
    """
    schedule = _schedule(options, now=now, tz=tz)
    wait = _wait(options)
    if isinstance(schedule, WhenReadySchedule) and wait is None:
        raise InvalidInput("--when when-ready needs --wait/--until COND", field="when")
    fields: dict[str, Any] = {
        "name": options.get("name"),
        "schedule": schedule,
        "action": action_of(options),
        "wait": wait,
        "budget": _budget(options),
        "depends_on": tuple(options.get("depends_on") or ()),
        "triggers": tuple(options.get("triggers") or ()),
        "tags": pairs(options.get("tags") or options.get("tag"), "tag", need_value=False),
        "env": pairs(options.get("env"), "env", need_value=True),
        "description": options.get("description") or "",
        "breaker": options.get("breaker"),
        "cwd": options.get("cwd"),
        "i_know": bool(options.get("i_know")),
        "stop_on_failure": bool(options.get("stop_on_failure")),
        "exclude": _texts(options, "exclude"),
    }
    for name, enum in (
        ("trigger_rule", TriggerRule),
        ("triggers_on", TriggersOn),
        ("misfire", Misfire),
        ("overlap", Overlap),
    ):
        value = _choice(options, name, enum)
        if value is not None:
            fields[name] = value
    for name in ("ttl", "misfire_grace"):
        value = duration(options, name)
        if value is not None:
            fields[name] = _checked(JobSpec, name, value, name)
    check_new_name(str(fields["name"]))
    try:
        return JobSpec(**fields)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="name", token=str(options.get("name"))) from None


def _schedule(options: Options, *, now: datetime, tz: str | None) -> Schedule:
    """The schedule of ``--when``/``--cron``/``--every``/``--at``/``--in`` and their
    companions (``--tz``, ``--calendar``, ``--dst-*``, ``--jitter``).

    Raises:
        InvalidInput: a bad or conflicting schedule flag (the message names it).
    """
    zone = options.get("tz") or tz or detect_local_zone()
    schedule = schedule_from_flags(
        now=now,
        tz=zone,
        when=options.get("when"),
        cron=options.get("cron"),
        every=options.get("every"),
        at=options.get("at"),
        in_=options.get("in"),
        calendar=_texts(options, "calendar"),
        dst_gap=_choice(options, "dst_gap", DstGap) or DstGap.SHIFT,
        dst_fold=_choice(options, "dst_fold", DstFold) or DstFold.FIRST,
    )
    try:
        return with_jitter(schedule, fire_jitter(options))
    except InvalidInput:
        raise
    except ValueError as exc:
        raise InvalidInput(f"--jitter: {exc}", token="--jitter", field="jitter") from None


def with_name(spec: JobSpec, name: str) -> JobSpec:
    """``spec`` renamed (for generated names)."""
    return attrs.evolve(spec, name=name)
