"""When a supervisor restarts a child, and which ones (pure: no trio, ``now`` passed in).

The vocabulary of docs/supervision.md — restart types, strategies, exit reasons, restart
backoff — and the decisions :class:`~gnomon.runtime.supervisor.Supervisor` takes on a
child's exit: :func:`judge_exit` (restart it, forget it, or give up) over a
:class:`RestartWindow` per supervisor and per child, and :func:`restarted_with` (the
children a strategy restarts together).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Sequence
from enum import StrEnum
from typing import TypeVar

import attrs

T = TypeVar("T")


class Restart(StrEnum):
    """When a child is restarted (OTP restart types)."""

    PERMANENT = "permanent"  # always, whatever the exit
    TRANSIENT = "transient"  # only after a crash
    TEMPORARY = "temporary"  # never


class Strategy(StrEnum):
    """Which children restart when one dies (OTP strategies)."""

    ONE_FOR_ONE = "one_for_one"
    ONE_FOR_ALL = "one_for_all"
    REST_FOR_ONE = "rest_for_one"
    SIMPLE_ONE_FOR_ONE = "simple_one_for_one"


@attrs.frozen
class Normal:
    """The actor returned."""


@attrs.frozen
class Shutdown:
    """The actor stopped because its supervisor asked it to (or cancelled it)."""


@attrs.frozen
class Crashed:
    """The actor raised; ``traceback`` is the formatted exception."""

    error: Exception
    traceback: str


ExitReason = Normal | Shutdown | Crashed


@attrs.frozen(kw_only=True)
class RestartBackoff:
    """Exponential restart delay with full jitter: ``uniform(0, min(cap, base·2ⁿ))``.

    ``n`` counts the child's restarts inside the intensity window, so a child that stays
    up for one ``period`` starts again from ``base``.
    """

    base: float = 0.1
    cap: float = 30.0
    rng: random.Random = attrs.field(factory=random.Random, eq=False)

    def delay(self, recent_restarts: int) -> float:
        """Delay before the restart that follows ``recent_restarts`` earlier ones."""
        ceiling = min(self.cap, self.base * 2 ** min(recent_restarts, 62))
        return self.rng.uniform(0.0, ceiling)


@attrs.define
class RestartWindow:
    """The restarts of the last ``period`` seconds (a supervisor's, or one child's)."""

    period: float
    times: deque[float] = attrs.field(factory=deque)

    def record(self, now: float) -> int:
        """Count a restart at ``now``; return how many fall inside the window."""
        self.times.append(now)
        while self.times and self.times[0] < now - self.period:
            self.times.popleft()
        return len(self.times)

    def clear(self) -> None:
        self.times.clear()


def restart_delay(backoff: RestartBackoff | None, window: RestartWindow | None) -> float:
    """The backoff before restarting a child whose restarts (this one included) are in
    ``window`` (``None``: it never restarted); none without a ``backoff``."""
    if backoff is None:
        return 0.0
    return backoff.delay((len(window.times) if window is not None else 0) - 1)


class Verdict(StrEnum):
    """What a supervisor does about one child's exit."""

    RESTART = "restart"  # restart it (and, by strategy, its group)
    REMOVE = "remove"  # its restart type wants no restart: forget it
    GIVE_UP = "give_up"  # restart intensity exceeded
    GIVE_UP_SIGNIFICANT = "give_up_significant"  # a significant child crashed


def should_restart(restart: Restart, reason: ExitReason) -> bool:
    """Whether a child of restart type ``restart`` that exited for ``reason`` restarts."""
    if restart is Restart.PERMANENT:
        return True
    return restart is Restart.TRANSIENT and isinstance(reason, Crashed)


def judge_exit(
    *,
    restart: Restart,
    significant: bool,
    reason: ExitReason,
    intensity: int,
    window: RestartWindow,
    now: float,
) -> Verdict:
    """The verdict on a child's exit at ``now``; a restart is counted in ``window`` (the
    supervisor's) and gives up once the window holds more than ``intensity`` of them."""
    if significant and isinstance(reason, Crashed):
        return Verdict.GIVE_UP_SIGNIFICANT
    if not should_restart(restart, reason):
        return Verdict.REMOVE
    if window.record(now) > intensity:
        return Verdict.GIVE_UP
    return Verdict.RESTART


def restarted_with(strategy: Strategy, order: Sequence[T], dead: T) -> list[T] | None:
    """The children (in start order) stopped and restarted together after ``dead`` died:
    every child (one_for_all), or ``dead`` and those started after it (rest_for_one).
    ``None``: ``dead`` restarts alone, after its backoff, while the supervisor goes on
    (one_for_one, simple_one_for_one)."""
    if strategy in (Strategy.ONE_FOR_ONE, Strategy.SIMPLE_ONE_FOR_ONE):
        return None
    if strategy is Strategy.ONE_FOR_ALL:
        return list(order)
    return list(order[list(order).index(dead) :])
