"""Dashboard login: one-time login tickets and the signed session tokens they buy.

``gnomon dashboard`` (an admin) asks ``system.login_url`` for a ticket: a random string,
valid once and for a short time (60 s), kept only in this process's memory. The browser
opens ``/#login=TICKET`` (a fragment, so it never reaches a server log or a ``Referer``),
strips it from the address bar, and calls ``system.hello {token: TICKET}``, which consumes
the ticket. It then asks ``system.session`` for a session token and keeps that in the
tab's ``sessionStorage`` to reconnect with, also across daemon restarts: a session token is
``gds1.<claims>.<mac>`` (:mod:`gnomon.runtime.gateway.credentials`), signed with a key
derived from the admin token, so no server state is needed to check it and rotating the
admin token revokes every dashboard session. The admin token itself never appears in a
URL, in the page or in the browser.

Tickets and sessions carry their *parent*: the token that issued the ticket. Each use
resolves that token again, so a session is refused as soon as its token is revoked, is an
agent's when its token is (the kill switch applies), and is never broader than the token
(scope, owner, agent flag, limits). Only a caller that logged in with a ticket or a
session may mint a session: a token caller reconnects with its own token.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from gnomon.runtime import protocol_names as names
from gnomon.runtime.errors import InvalidInput, Unauthorized
from gnomon.runtime.gateway.credentials import SCOPES, Resolve, Signer, derive, parent_claims
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_system import LoginTicket, LoginUrlParams, SessionGrant

TICKET_PREFIX = "glt_"
SESSION_PREFIX = "gds1."
MAX_TICKETS = 64
MAX_TICKET_TTL = 600.0
SESSION_TTL = 12 * 3600.0
Authenticate = Callable[[str, str | None, str | None], Caller | None]
Handler = Callable[[Caller, Any], Awaitable[Any]]


MINTERS = ("login", "session")


@attrs.frozen
class _Ticket:
    claims: dict[str, Any]  # the issuer's token and the granted scope (parent_claims)
    expires: float  # time.monotonic()


class LoginStore:
    """Tickets (in memory, one use each) and session tokens (signed, stateless)."""

    def __init__(
        self,
        key: bytes,
        resolve: Resolve,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        session_ttl: float = SESSION_TTL,
    ) -> None:
        self._signer = Signer(key, SESSION_PREFIX, wall=wall)
        self._resolve = resolve
        self._wall, self._monotonic = wall, monotonic
        self._session_ttl = session_ttl
        self._tickets: dict[str, _Ticket] = {}

    @classmethod
    def keyed(cls, admin_token: str, resolve: Resolve, **kw: Any) -> LoginStore:
        """A store whose session tokens are signed with a key derived from ``admin_token``
        and whose parents ``resolve`` finds."""
        key = hmac.new(admin_token.encode(), b"gnomon dashboard sessions v1", "sha256").digest()
        return cls(key, resolve, **kw)

    # -- tickets --------------------------------------------------------------------------

    def issue(self, issuer: Caller, params: LoginUrlParams) -> LoginTicket:
        """A one-time ticket for a browser session of ``params.scope`` (never more than
        the issuer's own scope).

        Raises:
            InvalidInput: a scope above the issuer's, or a TTL outside (0, 600] seconds.
        """
        if not issuer.may(params.scope):
            raise InvalidInput(
                f"a {issuer.scope} token cannot issue a {params.scope} login",
                token=params.scope,
                accepted=[s for s in SCOPES if issuer.may(s)],
            )
        if not 0 < params.ttl <= MAX_TICKET_TTL:
            raise InvalidInput(
                f"login ticket ttl must be in (0, {MAX_TICKET_TTL:g}] seconds",
                token=str(params.ttl),
            )
        self._expire()
        while len(self._tickets) >= MAX_TICKETS:
            self._tickets.pop(next(iter(self._tickets)))
        ticket = TICKET_PREFIX + secrets.token_urlsafe(24)
        claims = parent_claims(issuer.narrowed(params.scope, "login"))
        self._tickets[ticket] = _Ticket(claims, self._monotonic() + params.ttl)
        expires_at = datetime.fromtimestamp(self._wall() + params.ttl, UTC)
        return LoginTicket(ticket=ticket, path=f"/#login={ticket}", expires_at=expires_at)

    def redeem(self, ticket: str) -> Caller | None:
        """The caller a live ticket of a live token stands for; the ticket is spent
        either way."""
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry.expires <= self._monotonic():
            return None
        return derive(entry.claims, self._resolve, "login")

    def _expire(self) -> None:
        now = self._monotonic()
        for ticket in [t for t, e in self._tickets.items() if e.expires <= now]:
            del self._tickets[ticket]

    # -- session tokens -------------------------------------------------------------------

    def mint(self, caller: Caller) -> SessionGrant:
        """A session token standing for ``caller`` (its token, scope, owner, agent flag).

        Raises:
            Unauthorized: ``caller`` did not log in with a ticket or a session (a token
                caller reconnects with its token; a session would only copy it).
        """
        if caller.via not in MINTERS:
            raise Unauthorized(
                "unauthorized: system.session is for dashboard logins (a login ticket or a "
                f"session); this caller authenticated with a {caller.via}, which it can "
                "reconnect with itself",
                hint="gnomon dashboard prints a login URL",
            )
        token, expires = self._signer.seal(parent_claims(caller), self._session_ttl)
        return SessionGrant(
            session=token, scope=caller.scope, expires_at=datetime.fromtimestamp(expires, UTC)
        )

    def verify(self, token: str, client: str | None, version: str | None) -> Caller | None:
        """The caller a well-signed, unexpired session token of a live token stands for,
        else ``None``."""
        claims = self._signer.open(token)
        caller = None if claims is None else derive(claims, self._resolve, "session")
        if caller is None:
            return None
        return attrs.evolve(caller, client=client, client_version=version)

    # -- gateway hooks ----------------------------------------------------------------------

    def wrap(self, inner: Authenticate) -> Authenticate:
        """``inner``, then a ticket (spent), then a session token."""

        def authenticate(token: str, client: str | None, version: str | None) -> Caller | None:
            if token.startswith(TICKET_PREFIX):
                caller = self.redeem(token)
                return (
                    None
                    if caller is None
                    else attrs.evolve(caller, client=client, client_version=version)
                )
            if token.startswith(SESSION_PREFIX):
                return self.verify(token, client, version)
            return inner(token, client, version)

        return authenticate

    def handlers(self) -> Mapping[str, Handler]:
        """The protocol methods this store answers (``system.login_url``, ``system.session``)."""

        async def login_url(caller: Caller, params: LoginUrlParams) -> LoginTicket:
            return self.issue(caller, params)

        async def session(caller: Caller, _: Any) -> SessionGrant:
            return self.mint(caller)

        return {names.SYSTEM_LOGIN_URL: login_url, names.SYSTEM_SESSION: session}
