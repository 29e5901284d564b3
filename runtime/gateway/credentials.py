"""Credentials derived from a token: signed claims, re-checked against the token on use.

A derived credential is ``<prefix><claims>.<mac>``: base64url JSON claims and an
HMAC-SHA256 over them, so the daemon checks one without keeping state. Its claims always
name the *parent* token (``tid``: a token id, or ``admin`` for the home's admin token),
that token's owner and agent flag, and the scope granted. Using one resolves the parent
again (:data:`Resolve`): a revoked or unknown parent refuses it at once, and the caller it
yields is the parent's — owner, agent flag, and the limits looked up by its id — with the
narrower of the two scopes, so a derived credential is never broader than its token.

Two kinds (docs/security.md, "Tokens, sessions and derived credentials"):

- dashboard session tokens (``gds1.``, :mod:`gnomon.runtime.gateway.login`);
- job credentials (``gjc1.``, :class:`JobCredentials`): what a ``slash_cmd`` run's gnomon
  CLI authenticates with — the authority of the token that created the job, for about
  the run's timeout, keyed by a random key of this daemon process.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable
from typing import Any

import attrs

from gnomon.runtime.model.job import CreatedBy
from gnomon.runtime.protocol_access import Caller, Scope, Via

SCOPES: tuple[Scope, ...] = ("read", "write", "admin")
JOB_PREFIX = "gjc1."
#: Grace after a run's timeout before its job credential expires (the kill grace and
#: the CLI's own teardown fit in it).
JOB_GRACE = 60.0
#: The longest a job credential lives, whatever the run's timeout says.
JOB_MAX_TTL = 24 * 3600.0
#: A token id → the caller that token stands for now (no client fields), or ``None``
#: for an unknown or revoked token.
Resolve = Callable[[str], Caller | None]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    """Seals and opens claims under one key and prefix (expiry in ``exp``, wall seconds)."""

    def __init__(self, key: bytes, prefix: str, *, wall: Callable[[], float] = time.time) -> None:
        self._key, self.prefix, self._wall = key, prefix, wall

    def seal(self, claims: dict[str, Any], ttl: float) -> tuple[str, int]:
        """The credential for ``claims`` (plus ``exp`` and a nonce) and its expiry."""
        expires = int(self._wall() + ttl)
        body = {**claims, "exp": expires, "nonce": secrets.token_hex(8)}
        text = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
        return f"{self.prefix}{text}.{self._mac(text)}", expires

    def open(self, token: str) -> dict[str, Any] | None:
        """The claims of a well-signed, unexpired credential of this prefix, else ``None``."""
        if not token.startswith(self.prefix):
            return None
        body, _, mac = token[len(self.prefix) :].partition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        try:
            claims = json.loads(_unb64(body))
            expired = float(claims.get("exp", 0)) <= self._wall()
        except (ValueError, TypeError, AttributeError):
            return None
        return None if expired or not isinstance(claims, dict) else claims

    def _mac(self, body: str) -> str:
        return _b64(hmac.new(self._key, body.encode(), hashlib.sha256).digest())


def parent_claims(caller: Caller) -> dict[str, Any]:
    """The claims binding a derived credential to ``caller``'s token and scope."""
    return {
        "tid": caller.token_id,
        "owner": caller.owner,
        "agent": caller.agent,
        "scope": caller.scope,
    }


def derive(claims: dict[str, Any], resolve: Resolve, via: Via) -> Caller | None:
    """The caller opened ``claims`` stand for: their parent token as it is now, narrowed
    to the claimed scope; ``None`` when the parent is unknown or revoked, or no longer
    matches the claims (owner, agent flag)."""
    parent = resolve(str(claims.get("tid", "")))
    scope = next((s for s in SCOPES if s == claims.get("scope")), None)
    if parent is None or scope is None:
        return None
    if claims.get("owner") != parent.owner or claims.get("agent") is not parent.agent:
        return None
    return parent.narrowed(scope, via)


class JobCredentials:
    """Job credentials: a ``slash_cmd`` run's authority (see the module docstring)."""

    def __init__(
        self, resolve: Resolve, *, key: bytes | None = None, wall: Callable[[], float] = time.time
    ) -> None:
        self._signer = Signer(key or secrets.token_bytes(32), JOB_PREFIX, wall=wall)
        self._resolve = resolve

    def mint(self, authority: CreatedBy, job_id: str, run_id: str, timeout: float) -> str | None:
        """A credential for one run of a job created with ``authority``, valid for its
        ``timeout`` plus :data:`JOB_GRACE` (at most :data:`JOB_MAX_TTL`); ``None`` when
        that token is unknown or revoked (the slash command is refused)."""
        token = self._resolve(authority.token_id or "")
        if token is None:
            return None
        parent = token.narrowed(authority.scope or token.scope, "job")
        claims = {**parent_claims(parent), "job": job_id, "run": run_id}
        ttl = min(max(timeout, 0.0) + JOB_GRACE, JOB_MAX_TTL)
        return self._signer.seal(claims, ttl)[0]

    def verify(self, token: str) -> Caller | None:
        """The caller a live job credential stands for (its job and run as the parent
        job/run), else ``None``."""
        claims = self._signer.open(token)
        if claims is None:
            return None
        caller = derive(claims, self._resolve, "job")
        if caller is None:
            return None
        job, run = claims.get("job"), claims.get("run")
        return attrs.evolve(
            caller,
            parent_job=job if isinstance(job, str) else None,
            parent_run=run if isinstance(run, str) else None,
        )
