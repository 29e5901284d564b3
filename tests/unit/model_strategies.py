"""Hypothesis strategies for the model types (wire round-trips, DSL round-trips).

Built with ``st.builds`` so that fields added later with defaults need no change here.
Datetimes are aware with fixed offsets: an aware datetime inside a DST fold or gap of a
``ZoneInfo`` zone compares unequal to its own fixed-offset copy (PEP 495), which is what
the wire gives back.
"""

from __future__ import annotations

import json
import re
import warnings
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from gnomon.runtime.model.actions import (
    Action,
    AgentTaskAction,
    HookAction,
    LlmPromptAction,
    NoopAction,
    ShellAction,
    SlashAction,
    WebhookAction,
)
from gnomon.runtime.model.conditions import (
    AllOf,
    AnyOf,
    Condition,
    DockerCondition,
    FileCondition,
    HttpCondition,
    K8sCondition,
    LlmCondition,
    Not,
    OutputCondition,
    ShellCondition,
    TcpCondition,
)
from gnomon.runtime.model.dsl_scan import escape_slashes, unescape_slashes
from gnomon.runtime.model.enums import (
    DstFold,
    DstGap,
    JobStatus,
    Misfire,
    OnTimeout,
    Outcome,
    Overlap,
    OwnerKind,
    TriggerRule,
    TriggersOn,
)
from gnomon.runtime.model.events import Event, EventDraft, EventType
from gnomon.runtime.model.job import (
    NAME_RE,
    Budget,
    CreatedBy,
    JobSpec,
    Owner,
    WaitSpec,
    looks_like_id,
)
from gnomon.runtime.model.schedule import (
    CronSchedule,
    IntervalSchedule,
    ManualSchedule,
    OnceSchedule,
    Schedule,
    WhenReadySchedule,
)
from gnomon.runtime.model.state import (
    Dependency,
    FirePhase,
    FireState,
    JobState,
    QueuedFire,
    RunRecord,
    SkipTally,
    Transition,
    WaitProgress,
)

# --- scalars -----------------------------------------------------------------------------

text = st.text(max_size=20)
opt_text = st.none() | text
small_ints = st.integers(min_value=0, max_value=10_000)
opt_ints = st.none() | st.integers(min_value=-(2**40), max_value=2**40)


def floats(min_value: float = 0.0, max_value: float = 1e9, *, exclude_min: bool = False) -> Any:
    """Finite floats in a range."""
    return st.floats(
        min_value=min_value,
        max_value=max_value,
        exclude_min=exclude_min,
        allow_nan=False,
        allow_infinity=False,
    )


positive = floats(exclude_min=True)
non_negative = floats()
offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda m: timezone(timedelta(minutes=m))
)
aware_datetimes = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(2200, 1, 1),
    timezones=st.just(UTC) | offsets,
)
opt_datetimes = st.none() | aware_datetimes
names = st.from_regex(NAME_RE, fullmatch=True).filter(lambda n: not looks_like_id(n))
str_dicts = st.dictionaries(text, text, max_size=3)
headers = st.lists(st.tuples(text, text), max_size=3).map(tuple)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | floats(-1e9) | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)

# --- schedules ---------------------------------------------------------------------------

schedules = st.one_of(
    st.builds(
        CronSchedule,
        expr=text,
        tz=text,
        dst_gap=st.sampled_from(DstGap),
        dst_fold=st.sampled_from(DstFold),
        jitter=non_negative,
    ),
    st.builds(IntervalSchedule, every=positive, anchor=aware_datetimes, jitter=non_negative),
    st.builds(OnceSchedule, at=aware_datetimes),
    st.builds(ManualSchedule),
    st.builds(WhenReadySchedule),
)

# --- conditions --------------------------------------------------------------------------

leaf_conditions = st.one_of(
    st.builds(
        HttpCondition,
        url=text,
        status=opt_ints,
        body_regex=opt_text,
        method=text,
        headers=headers,
        timeout=positive,
    ),
    st.builds(TcpCondition, host=text, port=st.integers(1, 65535), timeout=positive),
    st.builds(FileCondition, path=text, min_size=small_ints, stable_for=non_negative),
    st.builds(ShellCondition, command=text, expect_exit=small_ints, bypass_safety=st.booleans()),
    st.builds(
        OutputCondition,
        command=text,
        pattern=text,
        source=st.sampled_from(["stdout", "stderr", "combined"]),
        bypass_safety=st.booleans(),
    ),
    st.builds(
        DockerCondition,
        name=text,
        prefix=st.booleans(),
        state=st.sampled_from(["running", "healthy"]),
    ),
    st.builds(
        K8sCondition,
        kind=text,
        name=text,
        namespace=opt_text,
        prefix=st.booleans(),
        condition=opt_text,
    ),
    st.builds(
        LlmCondition,
        question=text,
        context_cmd=opt_text,
        passes_if=text,
        model=opt_text,
        max_tokens=small_ints,
    ),
)


def _composites(children: Any) -> Any:
    kids = st.lists(children, min_size=1, max_size=3).map(tuple)
    return st.one_of(
        st.builds(AllOf, children=kids),
        st.builds(AnyOf, children=kids),
        st.builds(Not, child=children),
    )


conditions = st.recursive(leaf_conditions, _composites, max_leaves=6)

# --- actions -----------------------------------------------------------------------------

actions = st.one_of(
    st.builds(ShellAction, command=text, expect_exit=small_ints, bypass_safety=st.booleans()),
    st.builds(
        WebhookAction,
        url=text,
        method=text,
        body=opt_text,
        content_type=opt_text,
        headers=headers,
        expect_status=opt_ints,
        timeout=positive,
        max_response=small_ints,
        max_redirects=small_ints,
        secret=opt_text,
    ),
    st.builds(
        LlmPromptAction,
        prompt=text,
        system=opt_text,
        model=opt_text,
        max_tokens=small_ints,
        max_total_tokens=opt_ints,
        max_cost_usd=st.none() | non_negative,
    ),
    st.builds(AgentTaskAction, task=text, profile=text),
    st.builds(SlashAction, command=text),
    st.builds(HookAction, event=text),
    st.builds(NoopAction, message=opt_text),
)

# --- jobs --------------------------------------------------------------------------------

budgets = st.builds(
    Budget,
    action_timeout=positive,
    max_retries=small_ints,
    backoff_initial=non_negative,
    backoff_max=non_negative,
    backoff_mult=floats(1.0, 100.0),
    backoff_jitter=floats(0.0, 0.5),
    wait_timeout=positive,
    poll_interval=positive,
    max_polls=small_ints,
)
wait_specs = st.one_of(
    st.builds(
        WaitSpec,
        condition=conditions,
        on_timeout=st.sampled_from([OnTimeout.FAIL, OnTimeout.FIRE_ANYWAY]),
        fallback=st.none(),
    ),
    st.builds(
        WaitSpec, condition=conditions, on_timeout=st.just(OnTimeout.FALLBACK), fallback=actions
    ),
)
owners = st.builds(Owner, kind=st.sampled_from(OwnerKind), id=text)
created_bys = st.builds(
    CreatedBy,
    token_id=opt_text,
    client=opt_text,
    client_version=opt_text,
    parent_job=opt_text,
    parent_run=opt_text,
)
refs = st.lists(text, max_size=3).map(tuple)
job_specs = st.builds(
    JobSpec,
    name=names,
    schedule=schedules,
    action=actions,
    wait=st.none() | wait_specs,
    budget=budgets,
    depends_on=refs,
    trigger_rule=st.sampled_from(TriggerRule),
    triggers=refs,
    triggers_on=st.sampled_from(TriggersOn),
    ttl=non_negative,
    tags=str_dicts,
    description=text,
    overlap=st.sampled_from(Overlap),
    misfire=st.sampled_from(Misfire),
    misfire_grace=non_negative,
    stop_on_failure=st.booleans(),
    breaker=opt_text,
    cwd=opt_text,
    env=str_dicts,
    i_know=st.booleans(),
)

# --- state -------------------------------------------------------------------------------

statuses = st.sampled_from(JobStatus)
opt_statuses = st.none() | statuses
opt_outcomes = st.none() | st.sampled_from(Outcome)
transitions = st.builds(
    Transition, at=aware_datetimes, from_status=statuses, to_status=statuses, reason=text
)
wait_progresses = st.builds(
    WaitProgress,
    started_at=aware_datetimes,
    deadline=aware_datetimes,
    polls=small_ints,
    last_result=text,
    last_poll_at=opt_datetimes,
    remaining=st.none() | non_negative,
)
fire_states = st.builds(
    FireState,
    fire_time=aware_datetimes,
    cycle=small_ints,
    phase=st.sampled_from(FirePhase),
    manual=st.booleans(),
    attempt=small_ints,
    runs=small_ints,
    run_id=opt_text,
    started=st.booleans(),
    fallback=st.booleans(),
    wait=st.none() | wait_progresses,
    retry_at=opt_datetimes,
    error=text,
)
queued_fires = st.builds(
    QueuedFire, fire_time=aware_datetimes, cycle=small_ints, manual=st.booleans()
)
dependencies = st.builds(Dependency, id=text, name=text, status=opt_statuses)
skip_tallies = st.builds(SkipTally, count=small_ints, first=aware_datetimes, last=aware_datetimes)


def _tuples(strategy: Any) -> Any:
    return st.lists(strategy, max_size=2).map(tuple)


job_states = st.builds(
    JobState,
    id=text,
    spec=job_specs,
    owner=owners,
    created_by=created_bys,
    created_at=aware_datetimes,
    updated_at=aware_datetimes,
    status=statuses,
    next_fire_at=opt_datetimes,
    cycle=small_ints,
    fires=_tuples(fire_states),
    queued=st.none() | queued_fires,
    attempts=small_ints,
    consecutive_failures=small_ints,
    last_outcome=opt_outcomes,
    message=text,
    paused_from=opt_statuses,
    paused_skips=st.none() | skip_tallies,
    parent_id=opt_text,
    dependencies=_tuples(dependencies),
    trigger_ids=refs,
    transitions=_tuples(transitions),
    finished_at=opt_datetimes,
    expires_at=opt_datetimes,
)
run_records = st.builds(
    RunRecord,
    run_id=text,
    job_id=text,
    cycle=small_ints,
    attempt=small_ints,
    fire_time=aware_datetimes,
    started_at=aware_datetimes,
    finished_at=opt_datetimes,
    outcome=opt_outcomes,
    exit_code=opt_ints,
    output=text,
    error=text,
    fallback=st.booleans(),
    pid=opt_ints,
    pgid=opt_ints,
    tokens=opt_ints,
    cost_usd=st.none() | non_negative,
)

# --- events ------------------------------------------------------------------------------

payloads = st.dictionaries(text, json_values, max_size=3)
_event_fields: dict[str, Any] = {
    "type": st.sampled_from(EventType),
    "timestamp": aware_datetimes,
    "job_id": opt_text,
    "name": opt_text,
    "owner": opt_text,
    "status": opt_statuses,
    "outcome": opt_outcomes,
    "message": text,
    "payload": payloads,
}
event_drafts = st.builds(EventDraft, **_event_fields)
events = st.builds(Event, seq=st.integers(min_value=0), prev_hash=text, hash=text, **_event_fields)

#: Every wire type with its strategy, for the round-trip property: (name, type, strategy).
WIRE_TYPES: list[tuple[str, Any, Any]] = [
    ("Schedule", Schedule, schedules),
    ("Condition", Condition, conditions),
    ("Action", Action, actions),
    ("Budget", Budget, budgets),
    ("WaitSpec", WaitSpec, wait_specs),
    ("Owner", Owner, owners),
    ("CreatedBy", CreatedBy, created_bys),
    ("JobSpec", JobSpec, job_specs),
    ("JobState", JobState, job_states),
    ("FireState", FireState, fire_states),
    ("WaitProgress", WaitProgress, wait_progresses),
    ("Transition", Transition, transitions),
    ("RunRecord", RunRecord, run_records),
    ("Event", Event, events),
    ("EventDraft", EventDraft, event_drafts),
]

# --- DSL-expressible values (parse(format(x)) == x) ---------------------------------------
#
# Free text avoids quotes and parentheses, which the composite splitter treats as
# structure (an unbalanced quote or parenthesis inside and(…) cannot be written back),
# and "~", which with "=" and "/" opens a regex body; unit tests cover those characters.

_WORD = "abcxyzABC0189_-."


def dsl_text(extra: str = "", max_size: int = 16) -> Any:
    """Non-empty text without surrounding spaces from a DSL-safe alphabet plus ``extra``."""
    return (
        st.text(alphabet=_WORD + " " + extra, min_size=1, max_size=max_size)
        .map(str.strip)
        .filter(bool)
    )


def _regex_ok(pattern: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(pattern)
    except (re.error, RecursionError, OverflowError):
        return False
    return unescape_slashes(escape_slashes(pattern)) == pattern


nonempty = st.text(min_size=1).map(str.strip).filter(bool)
hook_events = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:*-]{0,12}", fullmatch=True)
dsl_names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,8}", fullmatch=True)
regex_patterns = st.text(alphabet="ab.*+?|/,\\ ()[]^$=", min_size=0, max_size=10).filter(_regex_ok)
hosts = st.from_regex(r"[a-z0-9][a-z0-9-]{0,8}(\.[a-z]{2,3})?", fullmatch=True)
urls = st.builds(
    "{}://{}{}".format,
    st.sampled_from(["http", "https"]),
    hosts | st.just("127.0.0.1:8080"),
    st.text(alphabet="abc019/-._?&=%+,:", max_size=16).map(lambda p: "/" + p if p else ""),
)
dsl_leaf_conditions = st.one_of(
    st.builds(HttpCondition, url=urls, status=st.integers(100, 599)),
    st.builds(HttpCondition, url=urls, status=st.none(), body_regex=regex_patterns),
    st.builds(
        TcpCondition,
        host=hosts | st.ip_addresses().map(str),
        port=st.integers(1, 65535),
    ),
    st.builds(FileCondition, path=dsl_text("/>=,"), min_size=st.integers(0, 2**40)),
    st.builds(ShellCondition, command=dsl_text("/;|&$=,*:")),
    st.builds(
        OutputCondition,
        command=dsl_text("/;|&$=,*") | st.sampled_from(["sh: x", "not y", "file:z", "and(q)"]),
        pattern=regex_patterns,
    ),
    st.builds(
        DockerCondition,
        name=dsl_names,
        prefix=st.booleans(),
        state=st.sampled_from(["running", "healthy"]),
    ),
    st.builds(
        K8sCondition,
        kind=dsl_names,
        name=dsl_names,
        namespace=st.none() | dsl_names,
        prefix=st.booleans(),
        condition=st.none() | dsl_names,
    ),
    st.builds(LlmCondition, question=dsl_text("?,:")),
)
dsl_conditions = st.recursive(dsl_leaf_conditions, _composites, max_leaves=6)

dsl_actions = st.one_of(
    st.builds(ShellAction, command=nonempty),
    st.builds(
        lambda method, url, body: WebhookAction(
            url=url,
            method=method,
            body=body,
            content_type=None if body is None or not _is_json(body) else "application/json",
        ),
        st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
        urls,
        st.none() | nonempty | json_values.map(json.dumps),
    ),
    st.builds(LlmPromptAction, prompt=nonempty),
    st.builds(AgentTaskAction, task=nonempty),
    st.builds(
        AgentTaskAction,
        task=nonempty,
        profile=dsl_names,
    ),
    st.builds(
        SlashAction,
        command=st.builds(
            "/{}{}".format,
            st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True).filter(
                lambda c: c.lower() not in ("run", "agent")
            ),
            st.text(max_size=12).map(str.strip).map(lambda a: " " + a if a else ""),
        ),
    ),
    st.builds(
        HookAction, event=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:*-]{0,12}", fullmatch=True)
    ),
    st.builds(NoopAction, message=st.none() | nonempty),
)


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


#: Fragments of DSL syntax, glued at random into near-miss inputs for the fuzz tests.
DSL_FRAGMENTS = (
    "and(", "or(", "all_of(", "not ", "not(", "(", ")", ",", " ", "'", '"', "`", "\\",
    "http://", "https://", "tcp://", "file:", "shell:", "sh:", "regex:", "docker:", "k8s:",
    "llm:", "~=", "==", ">=", ">", "/", "*", ":", "[", "]", "::1", "80", "200", "1.5k",
    "x", "é", "\x00", "\n", "GET ", "POST ", "DELETE ", "|", "{}", "worker ", "/run",
    "/agent", "agent:", "hook:", "noop", "$(", "`id`", ";",
)  # fmt: skip
dsl_noise = st.lists(st.sampled_from(DSL_FRAGMENTS) | st.text(max_size=3), max_size=12).map("".join)
