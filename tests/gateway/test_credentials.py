"""Derived credentials (runtime/gateway/credentials.py, login.py) as pure decisions: a
session or job credential stands for its parent token as that token is *now* (a table of
tokens plays the token book), never broader, and dies with it; signatures, prefixes and
expiry hold (a virtual wall clock)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.errors import Unauthorized
from gnomon.runtime.gateway.credentials import JOB_GRACE, JobCredentials, Signer
from gnomon.runtime.gateway.login import LoginStore
from gnomon.runtime.model.job import CreatedBy
from gnomon.runtime.protocol_access import Caller, Scope
from gnomon.runtime.protocol_system import LoginUrlParams

AGENT = Caller(token_id="tok-agent", scope="write", owner="agent:bot", agent=True)
OPS = Caller(token_id="tok-ops", scope="admin", owner="user:ops")


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Tokens:
    """The live tokens by id (what TokenBook.principal answers)."""

    def __init__(self, *callers: Caller) -> None:
        self.live = {c.token_id: c for c in callers}

    def __call__(self, token_id: str) -> Caller | None:
        return self.live.get(token_id)


def store(tokens: Tokens, clock: Clock) -> LoginStore:
    return LoginStore(b"k" * 32, tokens, wall=clock, monotonic=clock)


def test_an_agents_login_and_session_stay_the_agents_and_die_with_its_token() -> None:
    """A ticket issued by an agent token yields the agent (id, owner, agent flag), so does
    the session it mints; once the token is revoked both are refused."""
    tokens, clock = Tokens(AGENT), Clock()
    logins = store(tokens, clock)
    ticket = logins.issue(AGENT, LoginUrlParams(scope="read")).ticket
    login = logins.redeem(ticket)
    assert login == Caller(
        token_id="tok-agent", scope="read", owner="agent:bot", agent=True, via="login"
    )
    session = logins.mint(login).session
    again = logins.verify(session, "c", None)
    assert again is not None
    assert (again.token_id, again.agent, again.scope, again.via) == (
        "tok-agent",
        True,
        "read",
        "session",
    )
    del tokens.live["tok-agent"]
    assert logins.verify(session, "c", None) is None
    spare = logins.issue(AGENT, LoginUrlParams(scope="read")).ticket
    assert logins.redeem(spare) is None


def test_only_logins_and_sessions_mint_sessions() -> None:
    """A caller that authenticated with its token is refused a session (-32003)."""
    logins = store(Tokens(OPS), Clock())
    with pytest.raises(Unauthorized, match=r"system\.session is for dashboard logins"):
        logins.mint(OPS)


@given(st.sampled_from(["read", "write", "admin"]), st.sampled_from(["read", "write", "admin"]))
def test_a_session_is_never_broader_than_its_token_now(claimed: Scope, now: Scope) -> None:
    """Whatever scope a session claims, it yields at most its token's current scope."""
    tokens, clock = Tokens(OPS), Clock()
    logins = store(tokens, clock)
    session = logins.mint(OPS.narrowed(claimed, "session")).session
    tokens.live["tok-ops"] = Caller(token_id="tok-ops", scope=now, owner="user:ops")
    caller = logins.verify(session, None, None)
    assert caller is not None
    rank = {"read": 0, "write": 1, "admin": 2}
    assert rank[caller.scope] == min(rank[claimed], rank[now])


def test_a_session_whose_token_changed_owner_or_kind_is_refused() -> None:
    """A parent id that now stands for another owner or agent flag refuses the session."""
    tokens, clock = Tokens(OPS), Clock()
    logins = store(tokens, clock)
    session = logins.mint(OPS.narrowed("write", "login")).session
    tokens.live["tok-ops"] = Caller(token_id="tok-ops", scope="admin", owner="user:other")
    assert logins.verify(session, None, None) is None
    tokens.live["tok-ops"] = Caller(token_id="tok-ops", scope="admin", owner="user:ops", agent=True)
    assert logins.verify(session, None, None) is None


def test_tampered_foreign_and_expired_sessions_are_refused() -> None:
    """A changed claim, another key, another prefix or a passed expiry each refuse."""
    tokens, clock = Tokens(OPS), Clock()
    logins = store(tokens, clock)
    session = logins.mint(OPS.narrowed("write", "login")).session
    body, mac = session[len("gds1.") :].split(".")
    assert logins.verify(f"gds1.{body}x.{mac}", None, None) is None
    other = LoginStore(b"o" * 32, tokens, wall=clock, monotonic=clock)
    assert other.verify(session, None, None) is None
    assert logins.verify("gjc1." + session[5:], None, None) is None
    clock.now += 12 * 3600 + 1
    assert logins.verify(session, None, None) is None


def test_a_job_credential_carries_the_creating_tokens_authority_and_expires() -> None:
    """A job created by the admin token at write scope gets a write credential (never
    admin) naming the job and run; it ends after the timeout plus grace, or when the
    token is revoked; a revoked creator gets none."""
    admin = Caller(token_id="admin", scope="admin", owner="user:root")
    tokens, clock = Tokens(admin, AGENT), Clock()
    creds = JobCredentials(tokens, key=b"j" * 32, wall=clock)
    made = creds.mint(CreatedBy(token_id="admin", scope="write"), "job1", "job1.1.1", 30)
    assert made is not None
    assert made.startswith("gjc1.")
    caller = creds.verify(made)
    assert caller is not None
    assert (caller.token_id, caller.scope, caller.via) == ("admin", "write", "job")
    assert (caller.parent_job, caller.parent_run) == ("job1", "job1.1.1")
    agent = creds.mint(CreatedBy(token_id="tok-agent"), "job2", "job2.1.1", 30)
    assert agent is not None
    expected = attrs.evolve(AGENT, via="job", parent_job="job2", parent_run="job2.1.1")
    assert creds.verify(agent) == expected
    clock.now += 30 + JOB_GRACE + 1
    assert creds.verify(made) is None
    del tokens.live["tok-agent"]
    assert creds.mint(CreatedBy(token_id="tok-agent"), "job3", "job3.1.1", 30) is None
    assert creds.mint(CreatedBy(), "job4", "job4.1.1", 30) is None


def test_signer_refuses_junk() -> None:
    """Junk after the prefix, bad base64 or non-object claims never open."""
    signer = Signer(b"s" * 32, "gds1.", wall=Clock())
    for junk in ("gds1.", "gds1..", "gds1.!!!.???", "gds1.e30", "nope"):
        assert signer.open(junk) is None
