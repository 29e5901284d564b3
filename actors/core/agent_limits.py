"""Token limits on a new job, decided without I/O (docs/agents.md).

A job is judged by everything it could make run: its action, its fallback, the actions
and conditions inside a ``slash_cmd`` (``/schedule … --do "shell: …"``), and the trigger
templates it would clone. Anything that runs a local command — a shell action or
condition, an output-regex condition, an LLM condition's context command, an
``agent_task`` (the agent command runs locally) — needs the token's ``shell`` limit. Each
refusal is a :class:`~gnomon.runtime.errors.Refused` whose ``reason`` names the limit.
"""

from __future__ import annotations

import itertools
import json
import shlex
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from gnomon.runtime.errors import InvalidInput, Refused
from gnomon.runtime.model.action_dsl import parse_action
from gnomon.runtime.model.actions import ACTION_TYPES, Action, SlashAction
from gnomon.runtime.model.condition_dsl import parse_condition
from gnomon.runtime.model.durations import format_duration
from gnomon.runtime.model.firing import preview
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.parts import Part, kind_of, part_tree
from gnomon.runtime.model.parts import parts as spec_parts
from gnomon.runtime.model.schedule import IntervalSchedule, OnceSchedule, is_recurring
from gnomon.runtime.model.tokens import TokenLimits
from gnomon.runtime.model.wire import from_json

SLASH_OPEN = frozenset({"schedule", "wait", "jobs", "events", "inbox"})
_ACTION_FLAGS = ("--do", "--then", "--fallback")
_CONDITION_FLAGS = ("--until", "--wait")


def refuse(limit: str, message: str) -> Refused:
    """A refusal naming ``limit`` (``data.reason`` on the wire)."""
    return Refused(
        f"token limit {limit}: {message}",
        reason=limit,
        hint="an operator can create a token with wider limits: gnomon token create --help",
    )


def _flag_values(words: Sequence[str], flags: Sequence[str]) -> Iterator[str]:
    for index, word in enumerate(words):
        name, eq, value = word.partition("=")
        if name in flags:
            if eq:
                yield value
            elif index + 1 < len(words):
                yield words[index + 1]


def slash_parts(command: str) -> list[Part]:
    """The actions and conditions a slash command line would create.

    Raises:
        Refused: the command is not open to limited tokens, or cannot be read.
    """
    try:
        words = shlex.split(command)
    except ValueError as exc:
        raise refuse("actions", f"cannot read slash command {command!r}: {exc}") from None
    verb = words[0].lstrip("/") if words else ""
    if verb not in SLASH_OPEN:
        open_ = ", ".join(f"/{v}" for v in sorted(SLASH_OPEN))
        raise refuse("actions", f"slash command /{verb} is not open to this token ({open_} are)")
    parts: list[Part] = []
    try:
        parts += [parse_action(v) for v in _flag_values(words, _ACTION_FLAGS)]
        parts += [parse_condition(v) for v in _flag_values(words, _CONDITION_FLAGS)]
        parts += [from_json(v, Action) for v in _flag_values(words, ("--do-json",))]
    except (InvalidInput, json.JSONDecodeError) as exc:
        raise refuse("actions", f"cannot check slash command {command!r}: {exc}") from None
    return parts


def _opened(part: Part) -> Iterator[Part]:
    """``part`` and, for a slash command, every part it would create (opened in turn)."""
    yield part
    if isinstance(part, SlashAction):
        for inner in slash_parts(part.command):
            for each in part_tree(inner):
                yield from _opened(each)


def parts_of(spec: JobSpec) -> list[Part]:
    """Every action and condition ``spec`` could make run (slash commands opened)."""
    return [p for _, part in spec_parts(spec) for p in _opened(part)]


def runs_commands(part: Part) -> bool:
    """Whether ``part`` runs a local command (its kind's ``runs_local`` hook)."""
    return kind_of(part).runs_local(part)


def check_parts(limits: TokenLimits, parts: Sequence[Part], where: str) -> None:
    """Refuse parts the token may not use (``where`` says whose parts they are)."""
    for part in parts:
        tag = getattr(part, "TAG", "")
        if runs_commands(part) and not limits.shell:
            raise refuse(
                "shell",
                f"{where} would run a local command ({tag}); this token may not run shell commands",
            )
        if (
            isinstance(part, ACTION_TYPES)
            and limits.actions is not None
            and tag not in limits.actions
        ):
            raise refuse(
                "actions",
                f"{where} uses action type {tag!r}; this token allows "
                f"{', '.join(limits.actions) or 'none'}",
            )


def shortest_interval(spec: JobSpec, now: datetime) -> float | None:
    """The shortest gap between the next fires of a recurring schedule."""
    if isinstance(spec.schedule, IntervalSchedule):
        return spec.schedule.every
    if not is_recurring(spec.schedule):
        return None
    fires = preview(spec.schedule, now, 6)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(fires)]
    return min(gaps, default=None)


def check_interval(limits: TokenLimits, spec: JobSpec, now: datetime) -> None:
    floor = limits.min_interval
    if floor is None:
        return
    every = shortest_interval(spec, now)
    if every is not None and every < floor:
        raise refuse(
            "min_interval",
            f"fires every {format_duration(every)}, more often than this token's "
            f"{format_duration(floor)}",
        )
    if spec.wait is not None and spec.budget.poll_interval < floor:
        raise refuse(
            "min_interval",
            f"polls every {format_duration(spec.budget.poll_interval)}, more often than this "
            f"token's {format_duration(floor)}",
        )


def expiry(limits: TokenLimits, spec: JobSpec, now: datetime) -> datetime | None:
    """When a job of this token expires; refuses a one-shot due after that."""
    if limits.max_ttl is None:
        return None
    until = now + timedelta(seconds=limits.max_ttl)
    if isinstance(spec.schedule, OnceSchedule) and spec.schedule.at > until:
        raise refuse(
            "max_ttl",
            f"fires at {spec.schedule.at.isoformat()}, after this token's time to live "
            f"({format_duration(limits.max_ttl)}) ends",
        )
    return until


def check_job(
    limits: TokenLimits,
    spec: JobSpec,
    *,
    now: datetime,
    live_jobs: int,
    templates: Sequence[JobSpec] = (),
    replacing: bool = False,
) -> datetime | None:
    """Every limit, in order (max_jobs, shell and actions, min_interval, max_ttl); the
    job's ``expires_at``.

    Raises:
        Refused: the first limit the job breaks (``reason`` names it).
    """
    if limits.max_jobs is not None and not replacing and live_jobs >= limits.max_jobs:
        raise refuse(
            "max_jobs", f"the owner already has {live_jobs} live job(s), at most {limits.max_jobs}"
        )
    check_parts(limits, parts_of(spec), f"job {spec.name!r}")
    for template in templates:
        check_parts(limits, parts_of(template), f"trigger template {template.name!r}")
    check_interval(limits, spec, now)
    return expiry(limits, spec, now)
