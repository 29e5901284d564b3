"""The MCP tools of ``gnomon mcp``: their parameter types, JSON schemas and handlers
(docs/agents.md).

Parameters mirror the CLI flags with underscores and go through the same
:func:`~gnomon.cli.jobspec.spec_from_options`, so DSL strings and flags mean exactly what
they mean on the command line; durations are DSL strings or seconds. Schemas are generated
from the attrs types below by the wire converter, which also structures each call strictly
(an unknown key is an error naming the accepted ones). Errors come back as text that
teaches the accepted forms; descriptions are short because they are prompt text.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import trio

from gnomon.cli.client import Client
from gnomon.cli.jobspec import spec_from_options
from gnomon.cli.views import by_next_fire
from gnomon.cli.wait_cmd import follow, wait_options
from gnomon.client.aio import AsyncClient
from gnomon.runtime import protocol_names as methods
from gnomon.runtime.errors import GnomonError, InvalidInput
from gnomon.runtime.model import wire
from gnomon.runtime.model.enums import TERMINAL_STATUSES
from gnomon.runtime.protocol_jobs import JobView, RunView

Duration = str | float | None
RENAMED = {"in": "in_", "async": "async_"}  # MCP key → Python field
RUN_KEYS = ("attempt", "started_at", "finished_at", "outcome", "output")  # query's runs
#: ``tags`` as an agent may send them: an object, or a list of ``K=V`` (``K``) strings.
TAGS_SCHEMA: dict[str, Any] = {
    "description": 'labels: an object {"team": "ops", "urgent": ""} or a list '
    '["team=ops", "urgent"] (K=V, or K alone)',
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
        {"type": "array", "items": {"type": "string", "pattern": "^[^=]+(=.*)?$"}},
    ],
    "default": [],
}


@attrs.frozen(kw_only=True)
class ScheduleTool:
    """Schedule a job: exactly one of when/cron/every/at/in/calendar, and what to do."""

    name: str
    do: str
    when: str | None = None
    cron: str | None = None
    calendar: tuple[str, ...] = ()
    every: Duration = None
    at: str | None = None
    in_: Duration = None
    until: str | None = None
    timeout: Duration = None
    wait_timeout: Duration = None
    poll: Duration = None
    max_polls: int | None = None
    on_timeout: str | None = None
    fallback: str | None = None
    max_retries: int | None = None
    depends_on: tuple[str, ...] = ()
    triggers: tuple[str, ...] = ()
    ttl: Duration = None
    tags: tuple[str, ...] = ()
    description: str | None = None
    tz: str | None = None
    jitter: str | None = None
    exclude: tuple[str, ...] = ()
    i_know: bool = False


@attrs.frozen(kw_only=True)
class WaitTool:
    """Wait until a condition holds, then run an action (async: return the job id now)."""

    until: str
    then: str | None = None
    every: Duration = None
    timeout: Duration = None
    max_polls: int | None = None
    on_timeout: str | None = None
    fallback: str | None = None
    name: str | None = None
    triggers: tuple[str, ...] = ()
    async_: bool = False


@attrs.frozen(kw_only=True)
class QueryTool:
    """One job with its last runs, by id, id prefix or name."""

    id: str


@attrs.frozen(kw_only=True)
class ListTool:
    """Your jobs (live unless all), filtered by status, tag (k or k=v), owner or name."""

    status: tuple[str, ...] = ()
    tag: tuple[str, ...] = ()
    owner: str | None = None
    name: str | None = None
    all: bool = False


@attrs.frozen(kw_only=True)
class CancelTool:
    """Cancel a job by id or name, or every job with a tag."""

    id: str | None = None
    tag: str | None = None
    reason: str | None = None


@attrs.frozen(kw_only=True)
class InboxTool:
    """Results of the jobs you created, unread first; ack marks the returned ones read."""

    unread_only: bool = False
    ack: bool = True


@attrs.frozen
class ToolDef:
    name: str
    params: type
    description: str
    read_only: bool


TOOLS = (
    ToolDef(
        "schedule",
        ScheduleTool,
        "Schedule a job. when/cron/every/at/in/calendar (one) and do are DSL, e.g. "
        'every="5m", do="POST https://x/hook", until="tcp://db:5432"; '
        'when="every weekday at 18:30", calendar=["Mon..Fri *-*-* 09:00"] (systemd '
        'calendar expressions, in tz), cron="*/10 * * * * *" (seconds first); '
        'jitter="10m" spreads each fire, exclude=["holidays"] skips a calendar\'s days. '
        "Durations: 90s, 5m, 1h30m or seconds.",
        False,
    ),
    ToolDef(
        "wait",
        WaitTool,
        'Wait until a condition holds (until="https://x/health==200", "tcp://h:p", '
        '"file:/path"), then run `then`. async=true returns the job id at once; the result '
        "reaches your inbox.",
        False,
    ),
    ToolDef("query", QueryTool, "A job's status, last outcome, runs and output.", True),
    ToolDef("list", ListTool, "Your jobs, soonest next fire first.", True),
    ToolDef("cancel", CancelTool, "Cancel a job by id or name, or all jobs with a tag.", False),
    ToolDef(
        "inbox",
        InboxTool,
        "Results of jobs you created (outcome, timing, output tail), unread first; "
        "marks them read unless ack=false.",
        False,
    ),
)


def schema(params: type) -> dict[str, Any]:
    """The tool's input JSON schema, with MCP key names (``in``, ``async``)."""
    raw = wire.json_schema(params)
    back = {v: k for k, v in RENAMED.items()}
    raw["properties"] = {back.get(k, k): v for k, v in raw["properties"].items()}
    if "tags" in raw["properties"]:
        raw["properties"]["tags"] = dict(TAGS_SCHEMA)
    raw["required"] = [back.get(k, k) for k in raw.get("required", [])]
    raw.pop("$schema", None)
    return dict(raw)


def parse(params: type, arguments: dict[str, Any] | None) -> Any:
    """The call's arguments as ``params`` (strict: unknown keys are refused)."""
    data = {RENAMED.get(k, k): v for k, v in (arguments or {}).items()}
    if isinstance(data.get("tags"), dict):
        data["tags"] = tag_list(data["tags"])
    return wire.structure(data, params)


def tag_list(tags: dict[str, Any]) -> list[str]:
    """An object of tags as ``K=V`` strings (``K`` alone for an empty value).

    Raises:
        InvalidInput: a value is not a string, number or boolean.
    """
    out = []
    for key, value in tags.items():
        if isinstance(value, dict | list) or value is None:
            raise InvalidInput(
                f"tags.{key}: a tag value is a string, got {json.dumps(value)}",
                token=str(key),
                field=f"tags.{key}",
                accepted=TAGS_SCHEMA["description"].split(": ", 1)[1:],
            )
        text = str(value).lower() if isinstance(value, bool) else str(value)
        out.append(f"{key}={text}" if text else str(key))
    return out


def _options(p: Any) -> dict[str, Any]:
    out = {}
    for field in attrs.fields(type(p)):
        value = getattr(p, field.name)
        if value not in (None, (), False):
            out[field.name.rstrip("_")] = value
    return out


def _run_brief(run: RunView) -> dict[str, Any]:
    data = wire.unstructure(run)
    return {k: data[k] for k in RUN_KEYS}


def _brief(job: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "name", "status", "owner", "schedule", "action", "wait", "next_fire_at", "hold")
    more = ("last_outcome", "message", "reason", "expires_at")
    return {k: job.get(k) for k in (*keys, *more)}


class Tools:
    """The tool handlers over one daemon connection."""

    def __init__(self, client: Client, *, wait_limit: float = 1800.0) -> None:
        self.client = client
        self.api = AsyncClient(client)  # the typed calls (gnomon.client)
        self.wait_limit = wait_limit
        self.on_inbox_read: Callable[[], Awaitable[None]] | None = None

    async def call(self, name: str, arguments: dict[str, Any] | None) -> dict[str, Any]:
        """Run tool ``name``; its JSON result (``ok`` false with ``error`` on failure)."""
        tool = next((t for t in TOOLS if t.name == name), None)
        if tool is None:
            valid = "|".join(t.name for t in TOOLS)
            return {"ok": False, "error": f"unknown tool {name!r} (valid: {valid})"}
        try:
            handler = getattr(self, f"_{name}")
            return dict(await handler(parse(tool.params, arguments)))
        except GnomonError as exc:
            return {"ok": False, "error": teach(exc)}

    async def _create(self, options: dict[str, Any]) -> JobView:
        return await self.api.create(spec_from_options(options, now=datetime.now(UTC)))

    async def _schedule(self, p: ScheduleTool) -> dict[str, Any]:
        job = await self._create(_options(p))
        summary = f"scheduled {job.name} ({job.id}): {job.schedule} → {job.action}"
        return {"ok": True, "job_id": job.id, "status": job.status.value, "summary": summary}

    async def _wait(self, p: WaitTool) -> dict[str, Any]:
        flags = {k: v for k, v in _options(p).items() if k not in ("until", "then", "async")}
        options = wait_options(p.until, p.then, **flags)
        options["triggers"] = p.triggers
        view = await self._create(options)
        if p.async_:
            return {
                "ok": True,
                "job_id": view.id,
                "status": view.status.value,
                "summary": f"waiting for {view.wait}; the result will be in your inbox",
            }
        job = wire.unstructure(view)
        with trio.move_on_after(self.wait_limit):
            job = await follow(self.client, job, quiet=True)
        if job["status"] not in TERMINAL_STATUSES:
            return {
                "ok": False,
                "job_id": job["id"],
                "status": job["status"],
                "error": f"still {job['status']} after {self.wait_limit:g}s; it keeps running "
                f'and its result will be in your inbox (or call query {{"id": "{job["id"]}"}})',
            }
        return await self._ended(job)

    async def _ended(self, job: dict[str, Any]) -> dict[str, Any]:
        runs = (await self.api.get(job["id"])).runs
        return {
            "ok": job["status"] == "completed",
            "job_id": job["id"],
            "status": job["status"],
            "outcome": job["last_outcome"],
            "details": runs[0].output if runs else job["message"],
        }

    async def _query(self, p: QueryTool) -> dict[str, Any]:
        detail = await self.api.get(p.id)
        runs = [_run_brief(r) for r in detail.runs[:3]]
        return {"ok": True, "job": _brief(wire.unstructure(detail.job)), "runs": runs}

    async def _list(self, p: ListTool) -> dict[str, Any]:
        params = {"statuses": list(p.status), "tags": list(p.tag), "all": p.all}
        params |= {"owner": p.owner, "name": p.name}
        jobs = by_next_fire(await self.client.collect(methods.JOB_LIST, params, "jobs"))
        return {"ok": True, "jobs": [_brief(j) for j in jobs]}

    async def _cancel(self, p: CancelTool) -> dict[str, Any]:
        if (p.id is None) == (p.tag is None):
            raise InvalidInput(
                "cancel needs exactly one of id or tag",
                accepted=['{"id": "JOB"}', '{"tag": "k=v"}'],
            )
        params = {
            "refs": [p.id] if p.id else [],
            "tags": [p.tag] if p.tag else [],
            "reason": p.reason or "agent-cancelled",
        }
        done = await self.api.call(methods.JOB_CANCEL, params)
        return {"ok": True, "summary": f"{done.count} job(s) cancelled"}

    async def _inbox(self, p: InboxTool) -> dict[str, Any]:
        entries = await self.client.call(methods.INBOX_LIST, {"unread_only": p.unread_only})
        unread = [e["id"] for e in entries if not e["read"]]
        if p.ack and unread:
            await self.client.call(methods.INBOX_ACK, {"ids": unread})
        return {"ok": True, "entries": entries, "acked": len(unread) if p.ack else 0}


def teach(exc: GnomonError) -> str:
    """An error as the agent should read it: the message, the accepted forms, a hint."""
    lines = [exc.message]
    accepted = getattr(exc, "accepted", ())
    if accepted and "accepted" not in exc.message:
        lines.append("accepted: " + "; ".join(map(str, accepted)))
    if exc.hint:
        lines.append(f"hint: {exc.hint}")
    return "\n".join(lines)
