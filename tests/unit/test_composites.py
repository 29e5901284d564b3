"""Three-valued composite logic, on stub child verdicts (no I/O)."""

from __future__ import annotations

from gnomon.actors.conditions.and_ import combine_all
from gnomon.actors.conditions.not_ import negate
from gnomon.actors.conditions.or_ import combine_any
from gnomon.actors.exec.interface import Verdict

T = Verdict(value=True, summary="t")
F = Verdict(value=False, summary="f")
E = Verdict(value=None, summary="e", transient=True, breaker_failure=True)
P = Verdict(value=None, summary="p", transient=False)


def test_and_is_false_when_any_child_is_false() -> None:
    """A false child beats an erring one in ``and``."""
    assert combine_all([E, F]).value is False
    assert combine_all([T, E]).value is None
    assert combine_all([T, T]).value is True


def test_or_is_true_when_any_child_is_true() -> None:
    """A true child beats an erring one in ``or``."""
    assert combine_any([E, T]).value is True
    assert combine_any([F, E]).value is None
    assert combine_any([F, F]).value is False


def test_not_of_an_error_is_an_error() -> None:
    """Negation flips values and keeps errors (reference bug 16.1.8)."""
    assert negate(T).value is False
    assert negate(F).value is True
    neg = negate(P)
    assert neg.value is None
    assert neg.transient is False


def test_composite_error_is_permanent_if_any_child_error_is() -> None:
    """One permanent child error makes the composite error permanent."""
    assert combine_all([E, P]).transient is False
    assert combine_all([E, T]).transient is True
    assert combine_any([E, P, F]).transient is False


def test_breaker_failures_propagate() -> None:
    """A child's breaker failure counts for the composite, whatever its value."""
    assert combine_all([E, F]).breaker_failure is True
    assert combine_any([T]).breaker_failure is False
    assert negate(E).breaker_failure is True
