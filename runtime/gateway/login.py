"""Dashboard login: one-time login tickets and the signed session tokens they buy.

``gnomon dashboard`` (an admin) asks ``system.login_url`` for a ticket: a random string,
valid once and for a short time (60 s), kept only in this process's memory. The browser
opens ``/#login=TICKET`` (a fragment, so it never reaches a server log or a ``Referer``),
strips it from the address bar, and calls ``system.hello {token: TICKET}``, which consumes
the ticket. It then asks ``system.session`` for a session token and keeps that in the
tab's ``sessionStorage`` to reconnect with, also across daemon restarts: a session token is
``gds1.<claims>.<mac>``, an HMAC-SHA256 over its claims (scope, owner, expiry, nonce) keyed
by a key derived from the admin token, so no server state is needed to check it and
rotating the admin token revokes every dashboard session. The admin token itself never
appears in a URL, in the page or in the browser.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.protocol import (
    Caller,
    LoginTicket,
    LoginUrlParams,
    Scope,
    SessionGrant,
)

TICKET_PREFIX = "glt_"
SESSION_PREFIX = "gds1."
MAX_TICKETS = 64
MAX_TICKET_TTL = 600.0
SESSION_TTL = 12 * 3600.0
SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
Authenticate = Callable[[str, str | None, str | None], Caller | None]
Handler = Callable[[Caller, Any], Awaitable[Any]]


@attrs.frozen
class _Ticket:
    caller: Caller
    expires: float  # time.monotonic()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class LoginStore:
    """Tickets (in memory, one use each) and session tokens (signed, stateless)."""

    def __init__(
        self,
        key: bytes,
        *,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        session_ttl: float = SESSION_TTL,
    ) -> None:
        self._key = key
        self._wall, self._monotonic = wall, monotonic
        self._session_ttl = session_ttl
        self._tickets: dict[str, _Ticket] = {}

    @classmethod
    def keyed(cls, admin_token: str, **kw: Any) -> LoginStore:
        """A store whose session tokens are signed with a key derived from ``admin_token``."""
        key = hmac.new(admin_token.encode(), b"gnomon dashboard sessions v1", "sha256").digest()
        return cls(key, **kw)

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
        caller = attrs.evolve(
            issuer, token_id=f"login:{ticket[4:12]}", scope=params.scope, agent=False
        )
        self._tickets[ticket] = _Ticket(caller, self._monotonic() + params.ttl)
        expires_at = datetime.fromtimestamp(self._wall() + params.ttl, UTC)
        return LoginTicket(ticket=ticket, path=f"/#login={ticket}", expires_at=expires_at)

    def redeem(self, ticket: str) -> Caller | None:
        """The caller a live ticket stands for; the ticket is spent either way."""
        entry = self._tickets.pop(ticket, None)
        if entry is None or entry.expires <= self._monotonic():
            return None
        return entry.caller

    def _expire(self) -> None:
        now = self._monotonic()
        for ticket in [t for t, e in self._tickets.items() if e.expires <= now]:
            del self._tickets[ticket]

    # -- session tokens -------------------------------------------------------------------

    def mint(self, caller: Caller) -> SessionGrant:
        """A session token standing for ``caller`` (its scope and owner)."""
        expires = int(self._wall() + self._session_ttl)
        claims = {
            "scope": caller.scope,
            "owner": caller.owner,
            "exp": expires,
            "nonce": secrets.token_hex(8),
        }
        body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        token = f"{SESSION_PREFIX}{body}.{self._mac(body)}"
        return SessionGrant(
            session=token, scope=caller.scope, expires_at=datetime.fromtimestamp(expires, UTC)
        )

    def verify(self, token: str, client: str | None, version: str | None) -> Caller | None:
        """The caller a well-signed, unexpired session token stands for, else ``None``."""
        if not token.startswith(SESSION_PREFIX):
            return None
        body, _, mac = token[len(SESSION_PREFIX) :].partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        try:
            claims = json.loads(_unb64(body))
        except ValueError:
            return None
        if not isinstance(claims, dict) or float(claims.get("exp", 0)) <= self._wall():
            return None
        scope: Scope = next((s for s in SCOPES if s == claims.get("scope")), "read")
        return Caller(
            token_id=f"session:{str(claims.get('nonce', ''))[:8]}",
            scope=scope,
            owner=str(claims.get("owner", "user:unknown")),
            client=client,
            client_version=version,
        )

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())

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

        return {"system.login_url": login_url, "system.session": session}
