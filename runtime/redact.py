"""Secret redaction: what never leaves the daemon in an output, an error or an event.

Three sources of secrets, each replaced by :data:`MASK`:

1. *values* — of configured secret env names (``secrets.env``), of webhook secrets and the
   LLM API key, and of a job's own env entries whose *names* look secret
   (:func:`looks_secret`: ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``, ``*PASSWD*``,
   ``*KEY*``, ``*CREDENTIAL*``, case-insensitive). Values shorter than
   :data:`MIN_SECRET_LEN` characters are not redacted: masking every ``1`` or ``yes`` in
   an output would destroy it and protect nothing;
2. *patterns* — an ``Authorization``-style header line (``Authorization: Bearer …``,
   ``X-Api-Key: …``, ``Cookie: …``), a ``name=value`` or ``"name": "value"`` field whose
   name looks secret (``password=…``, ``"api_key": "…"``, ``?token=…``; but not token
   *counts* such as ``prompt_tokens: 11``) and the password
   of a URL (``https://user:***@host``), and gnomon's own credentials by their prefixes
   (``gnm_`` token secrets, ``glt_`` login tickets, ``gds1.`` session tokens, ``gjc1.``
   job credentials: docs/security.md);
3. *header maps* — :meth:`Redactor.headers` masks the values of sensitive header names.

Output arrives in chunks; a secret split across two chunks must still be caught.
:meth:`Redactor.tail` redacts the bounded tail of a stream (the ring buffer keeps a margin
of the longest secret so the cut never leaves half a secret behind), and
:class:`StreamRedactor` redacts a live stream by holding back the last few characters
until the next chunk shows whether they start a secret.

Pure (no trio, no I/O): the breaker-key core uses it too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import attrs

__all__ = [
    "MASK",
    "MIN_SECRET_LEN",
    "Redactor",
    "StreamRedactor",
    "looks_secret",
]

MASK = "***"
MIN_SECRET_LEN = 4

_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|KEY|CREDENTIAL", re.IGNORECASE)
_SENSITIVE_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "api-key"}
)
#: A secret-looking field name, from its keyword on. Matching starts at the keyword (what
#: precedes it in the name does not matter), never at every letter of a long word: a name
#: pattern with a run before the keyword is quadratic on long words, and redaction runs on
#: the daemon's event loop. The rest of the name is bounded for the same reason.
_NAME = r"(?:token(?!s\b)|secret|password|passwd|api[_-]?key|apikey|credential)[A-Za-z0-9_.-]{0,64}"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # gnomon's own credentials wherever they appear: token secrets (gnm_…), dashboard
    # login tickets (glt_…), session tokens (gds1.…) and job credentials (gjc1.…)
    (re.compile(r"\b(gnm_|glt_)[A-Za-z0-9_-]{8,}"), r"\1" + MASK),
    (re.compile(r"\b(gds1\.|gjc1\.)[A-Za-z0-9_.-]{8,}"), r"\1" + MASK),
    # Authorization: Bearer abc / Cookie: a=b / X-Api-Key: abc  (to the end of the line)
    (
        re.compile(
            r"(?im)^([ \t]*(?:proxy-)?(?:authorization|cookie|set-cookie|x-api-key|api-key)"
            r"[ \t]*:[ \t]*"
            r"(?:(?:bearer|basic|token|digest)\s+)?)[^\r\n]+"
        ),
        r"\1" + MASK,
    ),
    # -H 'Authorization: Bearer abc' inside a command line (quoted header argument)
    (
        re.compile(r"(?i)(authorization\s*:\s*(?:(?:bearer|basic|token|digest)\s+)?)[^\s'\"]+"),
        r"\1" + MASK,
    ),
    # "api_key": "abc"  /  'password': 'abc'
    (re.compile(rf"(?i)({_NAME}[\"']\s*:\s*[\"'])[^\"']*"), r"\1" + MASK),
    # password=abc  /  ?token=abc&  /  API_KEY: abc
    (re.compile(rf"(?i)({_NAME}\s*[=:]\s*)(?![\"'\s]|\*\*\*)[^\s&;,\"']+"), r"\1" + MASK),
    # scheme://user:password@host
    (re.compile(r"(?i)([a-z][a-z0-9+.-]{0,31}://[^\s/:@]+:)[^\s/@]+@"), r"\1" + MASK + "@"),
)


#: Every pattern above needs one of these (a linear scan lets most output skip them all).
_HINT = re.compile(
    r"(?i)gnm_|glt_|gds1\.|gjc1\.|authorization|cookie|api-key|token|secret|passw|apikey"
    r"|api_key|credential|://"
)


def looks_secret(name: str) -> bool:
    """True when an env or field *name* suggests its value is a secret."""
    return bool(_SECRET_NAME.search(name))


@attrs.frozen
class Redactor:
    """Masks known secret values and secret-looking fields in text.

    Build one with :meth:`of` and extend it per run with :meth:`with_env`. Immutable and
    cheap to copy.
    """

    values: tuple[str, ...] = ()
    patterns: bool = True

    @classmethod
    def of(cls, values: Iterable[str], *, patterns: bool = True) -> Redactor:
        """A redactor for ``values`` (short and empty ones are ignored)."""
        keep = {v for v in values if len(v) >= MIN_SECRET_LEN}
        return cls(tuple(sorted(keep, key=lambda v: (-len(v), v))), patterns)

    @classmethod
    def from_env(cls, names: Iterable[str], environ: Mapping[str, str]) -> Redactor:
        """A redactor for the values of the env variables ``names`` (missing ones skipped)."""
        return cls.of(environ[n] for n in names if n in environ)

    def with_values(self, values: Iterable[str]) -> Redactor:
        """This redactor plus ``values``."""
        return Redactor.of((*self.values, *values), patterns=self.patterns)

    def with_env(self, env: Mapping[str, str]) -> Redactor:
        """This redactor plus the values of ``env`` entries whose names look secret."""
        extra = [v for k, v in env.items() if looks_secret(k)]
        return self.with_values(extra) if extra else self

    @property
    def longest(self) -> int:
        """Length of the longest secret value (0 when there is none)."""
        return len(self.values[0]) if self.values else 0

    def redact(self, text: str) -> str:
        """``text`` with every secret value and secret-looking field masked."""
        for value in self.values:
            if value in text:
                text = text.replace(value, MASK)
        if self.patterns and _HINT.search(text):
            for pattern, repl in _PATTERNS:
                text = pattern.sub(repl, text)
        return text

    def tail(self, data: bytes, cap: int, *, truncated: bool = False) -> str:
        """Decode, redact and keep the last ``cap`` characters of a stream's tail.

        ``data`` should hold at least ``cap + self.longest`` trailing bytes of the stream
        (the ring keeps that margin): redacting *before* cutting means a secret that
        straddles the cut is masked whole instead of leaking its second half.
        ``truncated`` says the stream was longer than ``data``; the result then starts
        with a marker line.
        """
        text = data.decode("utf-8", errors="replace")
        if truncated and self.longest:
            text = text[self.longest :]  # may start inside a secret whose head was dropped
        text = self.redact(text)
        if len(text) > cap:
            text, truncated = text[-cap:], True
        return f"[… output truncated, last {cap} characters kept]\n{text}" if truncated else text

    def headers(self, headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
        """``headers`` with the values of sensitive header names masked, others redacted."""
        out = []
        for name, value in headers:
            if name.lower() in _SENSITIVE_HEADERS or looks_secret(name):
                out.append((name, MASK))
            else:
                out.append((name, self.redact(value)))
        return out

    def stream(self) -> StreamRedactor:
        """A stateful redactor for a live stream of text chunks."""
        return StreamRedactor(self)


class StreamRedactor:
    """Redacts a text stream chunk by chunk without letting a split secret through.

    Complete lines are released (patterns are line-local); of an unfinished line, all but
    the last ``longest - 1`` characters are released once it grows past ``hold`` — a
    secret value can then still be recognised when its end arrives.
    """

    def __init__(self, redactor: Redactor, *, hold: int = 4096) -> None:
        self._r = redactor
        self._hold = max(hold, redactor.longest)
        self._buf = ""

    def feed(self, chunk: str) -> str:
        """Take ``chunk``; return the redacted text that is now safe to release."""
        self._buf += chunk
        cut = self._buf.rfind("\n") + 1
        if cut == 0 and len(self._buf) > self._hold:
            cut = self._safe_cut(len(self._buf) - max(self._r.longest - 1, 0))
        out, self._buf = self._buf[:cut], self._buf[cut:]
        return self._r.redact(out) if out else ""

    def _safe_cut(self, cut: int) -> int:
        """Move ``cut`` left until it splits no secret value."""
        moved = True
        while moved:
            moved = False
            for value in self._r.values:
                start = self._buf.find(value, max(0, cut - len(value) + 1))
                if 0 <= start < cut < start + len(value):
                    cut, moved = start, True
        return cut

    def flush(self) -> str:
        """Release (redacted) whatever is held back; call at the end of the stream."""
        out, self._buf = self._buf, ""
        return self._r.redact(out) if out else ""
