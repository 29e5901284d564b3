"""A circuit breaker per target, as a pure state machine (docs/engine.md).

closed ──(threshold failures within window)──▶ open ──(cooldown elapsed, next permit)──▶
half_open ──(probe succeeds)──▶ closed, or ──(probe fails)──▶ open again.

While open, callers are refused without touching the target (outcome ``breaker_open``) and
told when to come back. In half-open exactly ``probes`` callers are admitted; the rest are
refused until the probes report. A probe that never reports (its caller was cancelled or
crashed) is given up after ``probe_timeout`` seconds so the breaker cannot wedge.

Times are plain seconds on any monotonic scale (the actor passes trio time).
"""

from __future__ import annotations

from enum import StrEnum

import attrs


class BreakerStatus(StrEnum):
    """The three breaker states; ``gauge`` is ``gnomon_breaker_state``'s value."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"

    @property
    def gauge(self) -> int:
        return {"closed": 0, "open": 1, "half_open": 2}[self.value]


@attrs.frozen(kw_only=True)
class BreakerConfig:
    """Defaults: open after 5 failures within 60 s, stay open 30 s, one half-open probe."""

    threshold: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    window: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    cooldown: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    probes: int = attrs.field(default=1, validator=attrs.validators.ge(1))
    probe_timeout: float = attrs.field(default=300.0, validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class Breaker:
    """The state of one breaker. ``failures``: while closed, those within the window; while
    open or half-open, the ones that opened it (a failed probe's included, at most
    ``threshold``)."""

    status: BreakerStatus = BreakerStatus.CLOSED
    failures: tuple[float, ...] = ()
    opened_at: float | None = None
    probes_out: tuple[float, ...] = ()

    def reopens_at(self, config: BreakerConfig) -> float | None:
        """When an open breaker will admit a probe (``None`` unless open)."""
        if self.status is not BreakerStatus.OPEN or self.opened_at is None:
            return None
        return self.opened_at + config.cooldown


@attrs.frozen
class Decision:
    """The answer to a permit request.

    ``allowed`` callers go ahead (``probe`` ones must report); refused callers may retry
    at ``retry_at``.
    """

    allowed: bool
    probe: bool = False
    retry_at: float | None = None


def permit(breaker: Breaker, config: BreakerConfig, now: float) -> tuple[Breaker, Decision]:
    """Ask to call the target now."""
    if breaker.status is BreakerStatus.CLOSED:
        return breaker, Decision(True)
    if breaker.status is BreakerStatus.OPEN:
        reopen = breaker.reopens_at(config)
        assert reopen is not None
        if now < reopen:
            return breaker, Decision(False, retry_at=reopen)
        breaker = attrs.evolve(breaker, status=BreakerStatus.HALF_OPEN, probes_out=())
    live = tuple(t for t in breaker.probes_out if now - t < config.probe_timeout)
    if len(live) < config.probes:
        return attrs.evolve(breaker, probes_out=(*live, now)), Decision(True, probe=True)
    retry = min(live) + config.probe_timeout
    return attrs.evolve(breaker, probes_out=live), Decision(False, retry_at=retry)


def record(
    breaker: Breaker, config: BreakerConfig, now: float, *, failure: bool, probe: bool
) -> Breaker:
    """Report how an allowed call went (``failure`` as the breaker counts failures)."""
    if probe and breaker.status is BreakerStatus.HALF_OPEN:
        if failure:  # the failures behind this open streak: the last `threshold` of them
            streak = (*breaker.failures, now)[-config.threshold :]
            return Breaker(status=BreakerStatus.OPEN, opened_at=now, failures=streak)
        return Breaker()
    if breaker.status is not BreakerStatus.CLOSED or not failure:
        return breaker
    recent = (*(t for t in breaker.failures if now - t < config.window), now)
    if len(recent) >= config.threshold:  # kept: `breakers` shows what opened it
        return Breaker(status=BreakerStatus.OPEN, opened_at=now, failures=recent)
    return attrs.evolve(breaker, failures=recent)


def release(breaker: Breaker, now: float) -> Breaker:
    """Give back a probe slot whose call never happened (cancelled before the target)."""
    if breaker.status is not BreakerStatus.HALF_OPEN or not breaker.probes_out:
        return breaker
    out = list(breaker.probes_out)
    out.remove(min(out))
    return attrs.evolve(breaker, probes_out=tuple(out))


def reset() -> Breaker:
    """An operator's ``breakers reset``: closed, failures forgotten."""
    return Breaker()
