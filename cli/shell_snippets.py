"""The DSL snippets ``gnomon shell`` offers after the flags that take a DSL (``--when``,
``--do``, ``--until``, durations, times, event bounds), each marked with the DSL it
belongs to so that a test can parse every one with the real parser
(``tests/cli/test_completion_parses.py``)."""

from __future__ import annotations

import attrs


@attrs.frozen
class Snippet:
    """A DSL example: ``value`` is inserted; ``open`` leaves its quote open to type on.

    A snippet that needs more typing (``open``, or a prefix such as ``tcp://localhost:``)
    names in ``example`` a complete value it begins; every other snippet is complete as
    it stands. ``tests/cli/test_completion_parses.py`` parses each of them.
    """

    value: str
    meta: str
    open: bool = False
    display: str | None = None
    example: str | None = None


def _s(
    value: str,
    meta: str,
    *,
    open: bool = False,
    display: str | None = None,
    example: str | None = None,
) -> Snippet:
    return Snippet(value, meta, open, display, example)


@attrs.frozen
class Snippets:
    """The snippets of one DSL (``kind``: when, cron, duration, time, bound, action,
    condition)."""

    kind: str
    items: tuple[Snippet, ...]


WHEN = Snippets(
    "when",
    (
        _s("now", "fire once, now"),
        _s("in 10m", "once, after a duration"),
        _s("every 5m", "interval"),
        _s("cron:0 9 * * mon-fri", "cron expression"),
        _s("@daily", "cron shorthand (@hourly, @weekly, …)"),
        _s("Mon..Fri *-*-* 09:00", "calendar expression: 09:00 on weekdays"),
        _s("*:0/15", "calendar expression: every quarter hour"),
        _s("every monday at 09:00", "every week, on a day"),
        _s("every weekday at 18:30", "Monday to Friday"),
        _s("every 15 minutes", "interval, spelled out"),
        _s("at 09:00", "once, at a time"),
        _s("tomorrow 09:00", "once, tomorrow"),
        _s("manual", "only by jobs run, a trigger or an agent"),
        _s("when-ready", "as soon as its condition holds"),
    ),
)
CRON = Snippets(
    "cron",
    (
        _s("0 9 * * mon-fri", "09:00 on weekdays"),
        _s("*/15 * * * *", "every 15 minutes"),
        _s("0 0 * * *", "midnight"),
        _s("@hourly", "every hour"),
        _s("@daily", "every day"),
        _s("*/10 * * * * *", "every 10 seconds (6 fields, seconds first)"),
    ),
)
CALENDAR = Snippets(
    "calendar",
    (
        _s("Mon..Fri *-*-* 09:00", "09:00 on weekdays"),
        _s("*-*-* 06:00", "every day at 06:00"),
        _s("*:0/15", "every quarter hour"),
        _s("*-*~01 23:00", "the last day of each month"),
        _s("Sat,Sun 10:00", "weekends"),
        _s("quarterly", "1 Jan, Apr, Jul, Oct"),
    ),
)
DURATION = Snippets(
    "duration",
    (
        _s("30s", "seconds"),
        _s("5m", "minutes"),
        _s("1h", "hours"),
        _s("1h30m", "combined"),
        _s("1d", "days"),
    ),
)
TIME = Snippets(
    "time",
    (
        _s("09:00", "today, or tomorrow if passed"),
        _s("tomorrow 09:00", "tomorrow"),
        _s("2026-04-25T14:00", "ISO 8601"),
        _s("now", "now"),
    ),
)
BOUND = Snippets(
    "bound",
    (
        _s("1h", "an hour ago"),
        _s("30m", "30 minutes ago"),
        _s("today", "since local midnight"),
        _s("yesterday", "since yesterday's midnight"),
        _s("seq:", "an event seq", display="seq:N", example="seq:100"),
        _s("2026-04-25T14:00", "a time"),
    ),
)
ACTION = Snippets(
    "action",
    (
        _s("shell: ", "run a shell command", open=True, example="shell: make test"),
        _s("sh: ", "run a shell command", open=True, example="sh: make test"),
        _s(
            "GET http://",
            "webhook",
            open=True,
            display="GET URL",
            example="GET http://localhost:8080/health",
        ),
        _s(
            "POST http://",
            "webhook with a body: URL | BODY",
            open=True,
            display="POST URL | BODY",
            example='POST http://localhost/hook | {"ok": true}',
        ),
        _s("llm: ", "an LLM prompt", open=True, example="llm: summarise the logs"),
        _s("agent: ", "an agent task", open=True, example="agent: fix the build"),
        _s(
            "/jobs ",
            "a gnomon command run by the daemon",
            open=True,
            display="/COMMAND ARGS",
            example="/jobs list",
        ),
        _s("hook:", "configured hook commands", display="hook:EVENT", example="hook:deploy"),
        _s("noop", "do nothing"),
    ),
)
CONDITION = Snippets(
    "condition",
    (
        _s(
            "tcp://localhost:",
            "connect succeeds",
            display="tcp://HOST:PORT",
            example="tcp://localhost:5432",
        ),
        _s("http://localhost/==200", "status equals 200", display="http://URL==200"),
        _s("http://localhost/~=/ok/", "body matches a regex", display="http://URL~=/RE/"),
        _s("file:", "a file exists", display="file:PATH", example="file:/tmp/ready"),
        _s("shell: ", "exit code 0", open=True, example="shell: test -e /tmp/ready"),
        _s(
            "docker:",
            "a container runs",
            display="docker:NAME[:running|:healthy]",
            example="docker:db:healthy",
        ),
        _s(
            "k8s:",
            "a Kubernetes object is ready",
            display="k8s:KIND[/NS]/NAME[:COND]",
            example="k8s:deployment/default/web",
        ),
        _s("llm: ", "an LLM answers yes", open=True, example="llm: is the release green?"),
        _s(
            "and(",
            "all of",
            open=True,
            display="and(A, B, …)",
            example="and(file:/tmp/a, tcp://localhost:5432)",
        ),
        _s("or(", "any of", open=True, display="or(A, B, …)", example="or(file:/a, file:/b)"),
        _s("not ", "negation", open=True, display="not A", example="not file:/tmp/lock"),
    ),
)
#: DSL snippets by metavar first (``DUR``, ``COND``, …), then by option name.
BY_METAVAR: dict[str, Snippets] = {
    "DSL": WHEN,
    "EXPR": CRON,
    "CALENDAR": CALENDAR,
    "DUR": DURATION,
    "TIME": TIME,
    "WHEN": BOUND,
    "ACTION": ACTION,
    "COND": CONDITION,
}
BY_OPTION: dict[str, Snippets] = {
    "--when": WHEN,
    "--cron": CRON,
    "--every": DURATION,
    "--in": DURATION,
    "--at": TIME,
    "--do": ACTION,
    "--then": ACTION,
    "--fallback": ACTION,
    "--until": CONDITION,
    "--wait": CONDITION,
}
