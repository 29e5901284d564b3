"""One error table (runtime/errors.py ``RPC_ERRORS``): what the gateway sends for an
error (its class's ``rpc_code`` and ``wire_data``) comes back, through ``from_wire``, as
the same class with the same fields — the exit code the CLI uses follows."""

from __future__ import annotations

import pytest

from gnomon.runtime import errors
from gnomon.runtime.errors import (
    RPC_ERRORS,
    ActorGone,
    GnomonError,
    InvalidInput,
    Refused,
    StoreUnavailable,
    SupervisorGaveUp,
    Unauthorized,
    from_wire,
    wire_data,
)
from gnomon.runtime.gateway.protocol_doc import ERROR_CODES

SAMPLES: list[GnomonError] = [
    InvalidInput("bad --when 'someday'", token="someday", field="when", hint="see --help"),
    errors.NotFound("no job 'x'", hint="gnomon jobs"),
    errors.Conflict("job 'x' is cancelled"),
    Refused("rate limit", reason="rate_owner", retry_after=2.5),
    Unauthorized("unauthorized: bad token", hint="check $GNOMON_TOKEN"),
    errors.AskTimeout("no answer in 30 s"),
    errors.ActorCrashed("actor crashed"),
    errors.ShuttingDown("the daemon is stopping"),
    StoreUnavailable("disk full: /x/gnomon.db"),
    GnomonError("a bug"),
]


def sent(exc: GnomonError) -> dict[str, object]:
    return {"code": exc.rpc_code, "message": exc.message, "data": wire_data(exc)}


@pytest.mark.parametrize("exc", SAMPLES, ids=lambda e: type(e).__name__)
def test_each_error_comes_back_as_itself(exc: GnomonError) -> None:
    """Class, message, hint and exit code survive the wire; so do a refusal's reason."""
    back = from_wire(sent(exc))
    assert type(back) is type(exc)
    assert (back.message, back.hint, back.exit_code) == (exc.message, exc.hint, exc.exit_code)
    if isinstance(exc, Refused):
        assert isinstance(back, Refused)
        assert (back.reason, back.retry_after) == (exc.reason, exc.retry_after)
    if isinstance(exc, InvalidInput):
        assert isinstance(back, InvalidInput)
        assert (back.token, back.field) == (exc.token, exc.field)


def test_every_code_the_gateway_sends_is_in_the_table() -> None:
    """Each error class's rpc_code has its entry; classes sharing a code (the kernel's)
    come back as the one a client can act on."""
    classes = {
        c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, GnomonError)
    }
    assert {c.rpc_code for c in classes} == {*RPC_ERRORS, GnomonError.rpc_code}
    assert RPC_ERRORS[ActorGone.rpc_code] is RPC_ERRORS[SupervisorGaveUp.rpc_code]


def test_an_unknown_or_malformed_error_is_a_plain_gnomon_error() -> None:
    """No code, a foreign code or junk data: GnomonError with what message there is."""
    assert type(from_wire({})) is GnomonError
    odd = from_wire({"code": -1, "message": "odd", "data": "not a dict"})
    assert (type(odd), odd.message) == (GnomonError, "odd")


def test_docs_protocol_lists_every_code_of_the_table() -> None:
    """docs/protocol.md's error table (and the OpenRPC document's) holds each code."""
    assert set(RPC_ERRORS) <= {code for code, _, _ in ERROR_CODES}
