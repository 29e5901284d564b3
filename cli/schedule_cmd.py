"""``gnomon schedule NAME --do ACTION [when] [flags]`` (docs/commands.md).

``--dry-run`` needs no daemon: it validates everything, then prints the parsed job and
its next fire times after ``--from`` (now) in UTC and local time.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import click

from gnomon.cli.calendar_cmd import known_calendars
from gnomon.cli.client import request
from gnomon.cli.jobspec import spec_from_options
from gnomon.cli.output import client_options, home_of, print_json, reports_errors
from gnomon.cli.timefmt import local_time
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.model import wire
from gnomon.runtime.model.action_dsl import format_action
from gnomon.runtime.model.condition_dsl import format_condition
from gnomon.runtime.model.durations import format_duration
from gnomon.runtime.model.fire_plan import plan_fires
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import CalendarSchedule, CronSchedule
from gnomon.runtime.model.times import detect_local_zone, parse_time
from gnomon.runtime.model.when import format_when

F = TypeVar("F", bound=Callable[..., Any])
CHOICE = {"case_sensitive": False}
ZONED = (CronSchedule, CalendarSchedule)


SCHEDULE_FLAGS: list[tuple[str, str, str]] = [
    ("--when", "DSL", "when to fire: cron, calendar, every DUR, in DUR, at TIME, now, manual …"),
    ("--cron", "EXPR", "cron: 5 fields (names, 7 = Sunday, @daily …) or 6 with seconds first"),
    ("--every", "DUR", "interval, anchored at creation (e.g. 5m)"),
    ("--at", "TIME", "once at TIME (ISO 8601, HH:MM, tomorrow HH:MM)"),
    ("--in", "DUR", "once after DUR"),
    ("--do", "ACTION", "action DSL: 'shell: CMD', 'POST URL | BODY', 'llm: …', noop …"),
    ("--do-json", "JSON", "the action as structured JSON instead of --do"),
    ("--wait", "COND", "gate each fire on a condition (same as --until)"),
    ("--until", "COND", "gate each fire on a condition: tcp://H:P, http://URL==200, file:P …"),
    ("--timeout", "DUR", "action timeout (5m)"),
    ("--wait-timeout", "DUR", "wait deadline per fire (30m)"),
    ("--poll", "DUR", "poll interval of the wait (5s)"),
    ("--max-polls", "N", "give up the wait after N checks (0 = unlimited)"),
    ("--on-timeout", "fail|fire_anyway|fallback", "what a wait deadline does (fail)"),
    ("--fallback", "ACTION", "action for --on-timeout fallback"),
    ("--max-retries", "N", "retries after the first attempt (3)"),
    ("--backoff", "DUR", "first retry delay (1s)"),
    ("--backoff-max", "DUR", "longest retry delay (5m)"),
    ("--backoff-mult", "F", "delay multiplier per retry (2.0)"),
    ("--backoff-jitter", "F", "random spread of retry delays, 0..1 (0.2)"),
    ("--jitter", "DUR", "delay each fire by a fixed per-slot amount within DUR (0)"),
    ("--trigger-rule", "RULE", "all_success|all_done|one_success|one_failed|none_failed"),
    ("--triggers-on", "success|failure|done", "when --triggers templates start (success)"),
    ("--ttl", "DUR", "how long the finished record is kept (24h)"),
    ("--description", "TEXT", "free text shown by jobs show"),
    ("--tz", "IANA", "time zone of cron, calendar and --at (the local zone)"),
    ("--dst-gap", "shift|skip", "a cron slot inside a spring-forward gap (shift)"),
    ("--dst-fold", "first|last|both", "a cron slot inside a fall-back fold (first)"),
    ("--misfire", "fire_once|fire_all|skip", "slots missed while down or late (fire_once)"),
    ("--misfire-grace", "DUR", "how late a slot may still fire (1m)"),
    ("--overlap", "skip|queue|allow|cancel_previous", "a fire while the last run runs (skip)"),
    ("--breaker", "KEY", "circuit breaker key (default: derived from the target)"),
    ("--cwd", "DIR", "working directory of shell/agent actions"),
]
REPEATABLE_FLAGS: list[tuple[str, str, str]] = [
    ("--calendar", "CALENDAR", "systemd calendar expression, 'Mon..Fri *-*-* 09:00' (repeatable)"),
    ("--exclude", "NAME", "skip slots covered by exclusion calendar NAME (repeatable)"),
    ("--depends-on", "REF", "DAG predecessor by name or id (repeatable)"),
    ("--triggers", "REF", "template job to start when this one ends (repeatable)"),
    ("--tag", "K[=V]", "tag (repeatable)"),
    ("--env", "K=V", "environment of shell/agent actions (repeatable)"),
]


def schedule_options(fn: F) -> F:
    """Every ``gnomon schedule`` flag (docs/commands.md)."""
    opts = [
        click.option(flag, *(["in_"] if flag == "--in" else []), metavar=meta, help=text)
        for flag, meta, text in SCHEDULE_FLAGS
    ]
    opts += [
        click.option(flag, multiple=True, metavar=meta, help=text)
        for flag, meta, text in REPEATABLE_FLAGS
    ]
    opts += [
        click.option("--i-know", is_flag=True, help="confirm a command the policy asks about"),
        click.option("--stop-on-failure", is_flag=True, help="end a recurring job on a failure"),
    ]
    for option in reversed(opts):
        fn = option(fn)
    return fn


def options_of(name: str, params: dict[str, Any]) -> dict[str, Any]:
    """click parameters → the option mapping of :func:`spec_from_options`."""
    out = {k: v for k, v in params.items() if v not in (None, (), False)}
    if "in_" in out:
        out["in"] = out.pop("in_")
    out["name"] = name
    return out


def next_fires(
    spec: JobSpec, after: datetime, count: int, calendars: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The next ``count`` fires: ``{"utc", "local"}`` (when it fires, jitter included, in
    UTC and the job's zone), ``"slot"`` and, when a calendar skips it, ``"excluded"``."""
    tz = spec.schedule.tz if isinstance(spec.schedule, ZONED) else detect_local_zone()
    zone = ZoneInfo(tz)
    plan = plan_fires(
        spec.name, spec.schedule, after, count, exclude=spec.exclude, calendars=calendars
    )
    out: list[dict[str, Any]] = []
    for p in plan:
        fire = {
            "utc": p.fires_at.astimezone(UTC).isoformat(),
            "local": p.fires_at.astimezone(zone).isoformat(),
            "slot": p.slot.astimezone(UTC).isoformat(),
        }
        if p.excluded is not None:
            fire["excluded"] = p.excluded
        out.append(fire)
    return out


def _fire_line(fire: dict[str, Any]) -> str:
    line = f"  {fire['utc']}   {fire['local']}"
    if fire["slot"] != fire["utc"]:
        delay = datetime.fromisoformat(fire["utc"]) - datetime.fromisoformat(fire["slot"])
        line += f"   (slot {fire['slot']} + {format_duration(delay.total_seconds())} jitter)"
    if "excluded" in fire:
        line += f"   skipped — excluded: {fire['excluded']}"
    return line


def describe(spec: JobSpec) -> list[tuple[str, str]]:
    """Rows of the human dry-run view."""
    rows = [("name", spec.name), ("when", format_when(spec.schedule))]
    if isinstance(spec.schedule, ZONED):
        rows.append(
            (
                "zone",
                f"{spec.schedule.tz} (dst gap {spec.schedule.dst_gap}, "
                f"fold {spec.schedule.dst_fold})",
            )
        )
    jitter = getattr(spec.schedule, "jitter", 0.0)
    if jitter:
        rows.append(("jitter", f"up to {format_duration(jitter)} per fire (fixed per slot)"))
    if spec.exclude:
        rows.append(("exclude", ", ".join(spec.exclude)))
    rows.append(("do", format_action(spec.action)))
    if spec.wait is not None:
        rows.append(
            (
                "wait",
                f"{format_condition(spec.wait.condition)} (on timeout: {spec.wait.on_timeout})",
            )
        )
    b = spec.budget
    rows.append(
        (
            "budget",
            f"timeout {format_duration(b.action_timeout)}, "
            f"{b.max_retries} retries, backoff {format_duration(b.backoff_initial)}",
        )
    )
    if spec.tags:
        rows.append(
            ("tags", ", ".join(f"{k}={v}" if v else k for k, v in sorted(spec.tags.items())))
        )
    if spec.depends_on:
        rows.append(("depends on", ", ".join(spec.depends_on)))
    return rows


def print_dry_run(
    spec: JobSpec,
    after: datetime,
    count: int,
    as_json: bool,
    calendars: Mapping[str, Any] | None = None,
) -> None:
    """The parsed job and its next fires, as text or JSON (docs/protocol.md)."""
    fires = next_fires(spec, after, count, calendars)
    if as_json:
        click.echo(json.dumps({"job": wire.unstructure(spec), "next_fires": fires}, indent=2))
        return
    width = max(len(label) for label, _ in describe(spec))
    for label, value in describe(spec):
        click.echo(f"{label.ljust(width)} : {value}")
    click.echo(
        f"next {len(fires)} fire(s) after {after.isoformat()}:"
        if fires
        else "no fire: the schedule fires only on demand (or has no slot left)"
    )
    for fire in fires:
        click.echo(_fire_line(fire))
    missing = [n for n in spec.exclude if calendars is None or n not in calendars]
    if missing:
        click.echo(
            f"note: calendar(s) {', '.join(missing)} unknown here (daemon not reachable, "
            "or not added yet): their slots are not marked"
        )


@click.command("schedule")
@click.argument("name")
@schedule_options
@click.option("--replace", is_flag=True, help="update the live job with the same name")
@click.option("--dry-run", is_flag=True, help="validate and preview; needs no daemon")
@click.option("--from", "from_", help="--dry-run: preview fires after this time (now)")
@click.option("--count", default=5, type=click.IntRange(1, 1000), help="--dry-run: fires (5)")
@client_options
@reports_errors
def schedule(
    name: str,
    home: str | None,
    url: str | None,
    replace: bool,
    dry_run: bool,
    from_: str | None,
    count: int,
    as_json: bool,
    **params: Any,
) -> None:
    """Schedule a job NAME that does --do ACTION --when/--cron/--every/--at/--in."""
    now = datetime.now(UTC).replace(microsecond=0)  # whole seconds: readable slots
    options = options_of(name, params)
    spec = spec_from_options(options, now=now)
    if dry_run:
        zone = options.get("tz") or detect_local_zone()
        after = parse_time(from_, now=now, tz=zone) if from_ else now
        print_dry_run(spec, after, count, as_json, known_calendars(home, url, spec.exclude))
        return
    job = request(
        home_of(home), url, methods.JOB_CREATE, {"spec": wire.unstructure(spec), "replace": replace}
    )
    if as_json:
        print_json(job)
        return
    click.echo(created_line(job, replaced=replace))


def created_line(job: dict[str, Any], *, replaced: bool = False) -> str:
    """``✔ job <id> created (<name>) — next fire <local time> (in 5h12m)``, or
    ``— blocked by X`` / ``— waiting for COND`` when the fire is held."""
    verb = "saved" if replaced else "created"
    fire = job.get("next_fire_at")
    when = f"next fire {local_time(fire)}" if fire else f"status {job['status']}"
    if job.get("hold"):  # blocked, paused, waiting: say so instead of a time it will miss
        when = str(job["hold"])
    elif fire and job.get("wait"):
        when += f", then waits for {job['wait']}"
    return f"✔ job {job['id']} {verb} ({job['name']}) — {when}"
