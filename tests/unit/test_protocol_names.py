"""Every method of the protocol table has its constant in runtime/protocol_names.py, and
every constant names a method (or one of the notifications)."""

from __future__ import annotations

from gnomon.runtime import protocol_names as names
from gnomon.runtime.protocol import METHODS


def constants() -> dict[str, str]:
    return {k: v for k, v in vars(names).items() if k.isupper() and isinstance(v, str)}


def test_each_method_has_its_constant() -> None:
    """``job.create`` is ``JOB_CREATE``: the name upper-cased, dots as underscores."""
    for method in METHODS:
        assert constants()[method.replace(".", "_").upper()] == method


def test_no_constant_is_stale() -> None:
    """A constant is a method of the table or a notification."""
    assert set(constants().values()) == set(METHODS) | set(names.NOTIFICATIONS)
