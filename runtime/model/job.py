"""The job as a user submits it (:class:`JobSpec`) and who submitted it.

Defaults are docs/commands.md's. Durations are seconds (floats). A ``JobSpec`` is what
``job.create`` receives and what ``schedule --dry-run`` prints; the daemon's view of a
live job is :class:`gnomon.runtime.model.state.JobState`.
"""

from __future__ import annotations

import re
from typing import Literal

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.model import bounds
from gnomon.runtime.model.actions import Action
from gnomon.runtime.model.conditions import Condition
from gnomon.runtime.model.enums import (
    Misfire,
    OnTimeout,
    Overlap,
    OwnerKind,
    TriggerRule,
    TriggersOn,
)
from gnomon.runtime.model.schedule import Schedule

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@+-]{0,127}$")
NAME_FORMS = (
    "1-128 ASCII characters: letters A-Z a-z, digits and _ . : @ + -, starting with a letter "
    "or digit",
)
#: Job ids are this many lowercase hex digits; a reference may give a prefix of at least
#: :data:`MIN_ID_PREFIX` of them (``actors/directory.py``).
ID_HEX_DIGITS = 16
MIN_ID_PREFIX = 4
_ID_LIKE = re.compile(rf"[0-9a-fA-F]{{{MIN_ID_PREFIX},{ID_HEX_DIGITS}}}")


def looks_like_id(name: str) -> bool:
    """Whether ``name`` reads as a job id or an id prefix a reference accepts (4-16 hex
    digits alone): such a name would hide that job from ``jobs show`` and every REF."""
    return _ID_LIKE.fullmatch(name) is not None


def check_new_name(name: str) -> None:
    """Refuse a new job's name that looks like a job id (stored jobs are not re-checked).

    Raises:
        InvalidInput: naming it, with a fix.
    """
    if looks_like_id(name):
        raise InvalidInput(
            f"job name {name!r} looks like a job id ({MIN_ID_PREFIX}-{ID_HEX_DIGITS} hex digits): "
            "names are looked up before ids, so it would hide the job whose id begins so",
            token=name,
            field="name",
            accepted=(*NAME_FORMS, "not hex digits alone"),
            hint=f"add a letter outside a-f or a separator, e.g. 'job-{name}'",
        )


DEFAULT_TTL = 24 * 3600.0


@attrs.frozen(kw_only=True)
class Budget:
    """Time and retry limits of one job.

    Retry *n* (1-based) waits ``min(backoff_max, backoff_initial · backoff_mult^(n-1))``
    seconds, ± ``backoff_jitter`` of itself; ``max_retries=0`` means no retry.
    """

    action_timeout: float = attrs.field(default=300.0, validator=bounds.positive_duration)
    max_retries: int = attrs.field(default=3, validator=bounds.count())
    backoff_initial: float = attrs.field(default=1.0, validator=bounds.any_duration)
    backoff_max: float = attrs.field(default=300.0, validator=bounds.any_duration)
    backoff_mult: float = attrs.field(
        default=2.0,
        validator=[attrs.validators.ge(1.0), attrs.validators.le(bounds.MAX_BACKOFF_MULT)],
    )
    backoff_jitter: float = attrs.field(
        default=0.2, validator=[attrs.validators.ge(0.0), attrs.validators.le(0.5)]
    )
    wait_timeout: float = attrs.field(default=1800.0, validator=bounds.positive_duration)
    poll_interval: float = attrs.field(default=5.0, validator=bounds.interval)
    max_polls: int = attrs.field(default=0, validator=bounds.count())


@attrs.frozen(kw_only=True)
class WaitSpec:
    """A gate in front of each fire: poll ``condition`` until it holds or the budget ends.

    ``fallback`` is required exactly when ``on_timeout`` is ``fallback``.
    """

    condition: Condition
    on_timeout: OnTimeout = OnTimeout.FAIL
    fallback: Action | None = None

    def __attrs_post_init__(self) -> None:
        if (self.on_timeout is OnTimeout.FALLBACK) != (self.fallback is not None):
            raise ValueError("on_timeout=fallback and a fallback action go together")


@attrs.frozen(kw_only=True)
class Owner:
    """Who owns a job; written ``kind:id`` (``user:alice``, ``agent:deploy-bot``)."""

    kind: OwnerKind
    id: str

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.id}"


@attrs.frozen(kw_only=True)
class CreatedBy:
    """Provenance and authority: the token and client that created a job, or the job/run
    that did. ``scope`` is the scope the creator called with — a dashboard session or a
    job credential can be narrower than its token — and bounds the job's slash commands
    (``None`` on jobs stored before it was recorded: the token's own scope)."""

    token_id: str | None = None
    scope: Literal["read", "write", "admin"] | None = None
    client: str | None = None
    client_version: str | None = None
    parent_job: str | None = None
    parent_run: str | None = None


def _name(_inst: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not NAME_RE.match(value):
        raise ValueError(f"bad job name {value!r}; accepted: {NAME_FORMS[0]}")


def _exclusion_names(_inst: object, _attribute: object, value: tuple[str, ...]) -> None:
    for name in value:
        if not NAME_RE.match(name):
            raise ValueError(f"bad exclusion calendar name {name!r}; accepted: {NAME_FORMS[0]}")


@attrs.frozen(kw_only=True)
class JobSpec:
    """Everything a user says about a job (docs/commands.md).

    ``depends_on`` and ``triggers`` hold references as given (names or ids); admission
    resolves them to ids. ``tags`` values may be empty (``--tag k``). ``exclude`` names
    exclusion calendars (``gnomon calendar add``): a slot they cover is skipped.
    """

    name: str = attrs.field(validator=_name)
    schedule: Schedule
    action: Action
    wait: WaitSpec | None = None
    budget: Budget = attrs.field(factory=Budget)
    depends_on: tuple[str, ...] = ()
    trigger_rule: TriggerRule = TriggerRule.ALL_SUCCESS
    triggers: tuple[str, ...] = ()
    triggers_on: TriggersOn = TriggersOn.SUCCESS
    ttl: float = attrs.field(default=DEFAULT_TTL, validator=bounds.any_duration)
    tags: dict[str, str] = attrs.field(factory=dict)
    description: str = ""
    overlap: Overlap = Overlap.SKIP
    misfire: Misfire = Misfire.FIRE_ONCE
    misfire_grace: float = attrs.field(default=60.0, validator=bounds.any_duration)
    stop_on_failure: bool = False
    breaker: str | None = None
    cwd: str | None = None
    env: dict[str, str] = attrs.field(factory=dict)
    i_know: bool = False
    exclude: tuple[str, ...] = attrs.field(default=(), validator=_exclusion_names)
    #: Its wire JSON, written once by the first encode and reused by every later one (a
    #: spec is frozen; a job's saves share it): not part of the wire form, equality or
    #: the hash (:mod:`gnomon.runtime.model.wire_compiled`).
    _wire_text: str | None = attrs.field(default=None, init=False, eq=False, repr=False)
