"""The pure circuit breaker: defaults of docs/engine.md and a model-based property test."""

from __future__ import annotations

import attrs
from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.actors.core.breaker.machine import (
    Breaker,
    BreakerConfig,
    BreakerStatus,
    permit,
    record,
    release,
    reset,
)

CONFIG = BreakerConfig()


def fail_n(b: Breaker, n: int, start: float, step: float = 1.0) -> Breaker:
    for i in range(n):
        b, d = permit(b, CONFIG, start + i * step)
        assert d.allowed
        b = record(b, CONFIG, start + i * step, failure=True, probe=d.probe)
    return b


def test_opens_after_five_failures_within_sixty_seconds() -> None:
    """Five failures inside the window open the breaker; four do not."""
    b = fail_n(Breaker(), 4, 0.0)
    assert b.status is BreakerStatus.CLOSED
    b = fail_n(b, 1, 10.0)
    assert b.status is BreakerStatus.OPEN
    assert b.reopens_at(CONFIG) == 40.0


def test_an_open_breaker_keeps_the_failures_that_opened_it() -> None:
    """Opened by five failures, it counts five (not 0); a failed probe keeps the streak at
    most threshold long; a good probe forgets them."""
    b = fail_n(Breaker(), 5, 0.0, step=2.0)
    assert (b.status, b.failures) == (BreakerStatus.OPEN, (0.0, 2.0, 4.0, 6.0, 8.0))
    b, d = permit(b, CONFIG, 40.0)
    b = record(b, CONFIG, 40.0, failure=True, probe=d.probe)
    assert (b.status, b.failures) == (BreakerStatus.OPEN, (2.0, 4.0, 6.0, 8.0, 40.0))
    b, d = permit(b, CONFIG, 80.0)
    assert record(b, CONFIG, 80.0, failure=False, probe=d.probe).failures == ()


def test_failures_outside_window_do_not_count() -> None:
    """Failures spread over more than the window never trip it."""
    b = fail_n(Breaker(), 20, 0.0, step=15.0)
    assert b.status is BreakerStatus.CLOSED


def test_open_refuses_until_cooldown_then_one_probe() -> None:
    """While open, calls are refused with the reopen time; after it, one probe passes."""
    b = fail_n(Breaker(), 5, 0.0)
    b, d = permit(b, CONFIG, 20.0)
    assert d == type(d)(False, retry_at=34.0)
    b, first = permit(b, CONFIG, 34.0)
    assert first.allowed
    assert first.probe
    assert b.status is BreakerStatus.HALF_OPEN
    b, second = permit(b, CONFIG, 35.0)
    assert not second.allowed


def test_probe_success_closes_and_failure_reopens() -> None:
    """The probe's result decides: success closes, failure reopens with a new cooldown."""
    opened = fail_n(Breaker(), 5, 0.0)
    half, d = permit(opened, CONFIG, 40.0)
    assert record(half, CONFIG, 41.0, failure=False, probe=d.probe) == Breaker()
    again = record(half, CONFIG, 41.0, failure=True, probe=d.probe)
    assert again.status is BreakerStatus.OPEN
    assert again.reopens_at(CONFIG) == 71.0


def test_unreported_probe_expires_and_release_frees_it() -> None:
    """A probe that never reports is given up after probe_timeout; release frees it now."""
    cfg = attrs.evolve(CONFIG, probe_timeout=100.0)
    b = fail_n(Breaker(), 5, 0.0)
    b, d = permit(b, cfg, 40.0)
    assert d.probe
    b, d2 = permit(b, cfg, 139.0)
    assert not d2.allowed
    assert d2.retry_at == 140.0
    _, d3 = permit(b, cfg, 140.0)
    assert d3.probe
    freed = release(b, 50.0)
    _, d4 = permit(freed, cfg, 50.0)
    assert d4.probe


def test_success_and_non_probe_reports_while_open_change_nothing() -> None:
    """Late reports from calls admitted before opening do not move an open breaker."""
    b = fail_n(Breaker(), 5, 0.0)
    assert record(b, CONFIG, 6.0, failure=False, probe=False) == b
    assert record(b, CONFIG, 6.0, failure=True, probe=False) == b
    assert reset() == Breaker()


@attrs.define
class Reference:
    """A deliberately naive breaker written from the contract's words."""

    cfg: BreakerConfig
    state: str = "closed"
    failures: list[float] = attrs.field(factory=list)
    opened: float = 0.0
    probe_out: float | None = None

    def ask(self, now: float) -> tuple[bool, bool]:
        if self.state == "open" and now >= self.opened + self.cfg.cooldown:
            self.state, self.probe_out = "half_open", None
        if self.state == "closed":
            return True, False
        if self.state == "open":
            return False, False
        if self.probe_out is None or now - self.probe_out >= self.cfg.probe_timeout:
            self.probe_out = now
            return True, True
        return False, False

    def tell(self, now: float, failure: bool, probe: bool) -> None:
        if probe and self.state == "half_open":
            if failure:
                self.state, self.opened = "open", now
                self.failures = [*self.failures, now][-self.cfg.threshold :]
            else:
                self.state, self.failures = "closed", []
            self.probe_out = None
        elif self.state == "closed" and failure:
            self.failures = [t for t in self.failures if now - t < self.cfg.window] + [now]
            if len(self.failures) >= self.cfg.threshold:
                self.state, self.opened = "open", now  # failures kept: what opened it


@settings(max_examples=300)
@given(
    steps=st.lists(
        st.tuples(st.floats(0, 40), st.booleans(), st.booleans()), min_size=1, max_size=60
    )
)
def test_matches_reference_model(steps: list[tuple[float, bool, bool]]) -> None:
    """Random call sequences: the pure breaker agrees with the naive reference."""
    cfg = BreakerConfig(threshold=3, window=30.0, cooldown=20.0, probe_timeout=50.0)
    ours, ref, now = Breaker(), Reference(cfg), 0.0
    for gap, failure, reports in steps:
        now += gap
        ours, d = permit(ours, cfg, now)
        allowed, probe = ref.ask(now)
        assert (d.allowed, d.probe) == (allowed, probe)
        assert ours.status.value == ref.state
        if d.allowed and reports:
            ours = record(ours, cfg, now, failure=failure, probe=d.probe)
            ref.tell(now, failure, probe)
        assert ours.status.value == ref.state
        assert list(ours.failures) == ref.failures
