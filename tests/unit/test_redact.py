"""Secret redaction: values, secret-looking names and fields, chunk boundaries."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from gnomon.runtime.redact import MASK, Redactor, looks_secret

SECRET = "hunter2-very-secret"


def test_values_are_masked() -> None:
    """Every occurrence of a configured value is replaced, short values are ignored."""
    r = Redactor.of([SECRET, "ab"])
    assert r.redact(f"pw={SECRET} again {SECRET} ab").count(MASK) >= 2
    assert SECRET not in r.redact(f"x {SECRET} y")
    assert "ab" in r.redact("ab")


def test_env_names_that_look_secret() -> None:
    """A job's env values are masked when their names contain TOKEN, SECRET, PASSWORD or KEY."""
    assert all(looks_secret(n) for n in ("GITHUB_TOKEN", "db_password", "API_KEY", "secret"))
    assert not looks_secret("HOME")
    r = Redactor().with_env({"DEPLOY_TOKEN": "tok-123456", "HOME": "/home/someone"})
    out = r.redact("tok-123456 /home/someone")
    assert "tok-123456" not in out
    assert "/home/someone" in out


def test_field_and_header_patterns() -> None:
    """Authorization headers, secret-named fields and URL passwords are masked."""
    r = Redactor()
    text = (
        "Authorization: Bearer abc.def.ghi\n"
        '{"api_key": "k-999", "name": "x"}\n'
        "url https://user:pa55word@host/path?token=t0k3n&x=1\n"
        "curl -H 'Authorization: Bearer zzz123' http://x\n"
        "password=letmein\n"
        '"prompt_tokens": 11, tokens=5\n'
    )
    out = r.redact(text)
    for leaked in ("abc.def.ghi", "k-999", "pa55word", "t0k3n", "zzz123", "letmein"):
        assert leaked not in out
    assert '"prompt_tokens": 11, tokens=5' in out
    assert '"name": "x"' in out
    assert "x=1" in out


def test_header_maps() -> None:
    """Sensitive header names have their values masked."""
    out = Redactor().headers([("Authorization", "Bearer x"), ("Accept", "text/plain")])
    assert out == [("Authorization", MASK), ("Accept", "text/plain")]


def test_tail_masks_a_secret_straddling_the_cut() -> None:
    """A secret across the kept tail's start is masked whole, not half-leaked."""
    r = Redactor.of([SECRET])
    data = ("x" * 50 + SECRET + "y" * 10).encode()
    out = r.tail(data, 15)
    assert "secret" not in out
    assert out.startswith("[…")


def test_tail_drops_a_secret_whose_head_fell_out_of_the_ring() -> None:
    """When the ring dropped a secret's head, its remaining tail is not shown."""
    r = Redactor.of([SECRET])
    data = (SECRET[7:] + "z" * 40).encode()
    out = r.tail(data, 100, truncated=True)
    assert SECRET[7:] not in out


def test_stream_redactor_catches_a_secret_split_across_chunks() -> None:
    """A secret arriving in two chunks is masked in the released stream."""
    r = Redactor.of([SECRET])
    s = r.stream()
    half = len(SECRET) // 2
    pieces = [s.feed("a" * 5000 + SECRET[:half]), s.feed(SECRET[half:] + "b" * 5000), s.flush()]
    out = "".join(pieces)
    assert SECRET not in out
    assert MASK in out
    assert out.count("a") == 5000


def test_stream_redactor_line_patterns() -> None:
    """Complete lines are released redacted; the unfinished line waits."""
    s = Redactor().stream()
    assert s.feed("Authorization: Bea") == ""
    assert "xyz" not in s.feed("rer xyz\nnext")
    assert s.flush() == "next"


@settings(max_examples=50)
@given(
    prefix=st.sampled_from(["gnm_", "glt_", "gds1.", "gjc1."]),
    body=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=8, max_size=60),
    mac=st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=8, max_size=43),
    before=st.sampled_from(["", " ", "\n", "token: ", "GNOMON_TOKEN=", "(", "'"]),
)
def test_gnomon_credentials_are_masked_by_their_prefix(
    prefix: str, body: str, mac: str, before: str
) -> None:
    """A token secret, login ticket, session token or job credential anywhere in a line is
    masked whole, keeping only its prefix (with no configured value to match)."""
    secret = prefix + body + ("." + mac if prefix.endswith(".") else "")
    out = Redactor().redact(f"{before}{secret} (shown once)")
    assert body not in out
    assert f"{prefix}{MASK}" in out or MASK in out


ADVERSARIAL = {
    "letters": "x" * 200_000,
    "newlines": "\n" * 200_000,
    "dotted words": "x." * 100_000,
    "a long name before a secret": "x" * 200_000 + "token=abc",
    "dotted name before a quoted secret": '"x.' * 60_000 + 'token": "abc"',
    "spaces": " \t" * 100_000,
    "url-like": "a://" + "b:" * 100_000,
}


def test_redaction_stays_linear_on_adversarial_output() -> None:
    """Output built to make the patterns backtrack (each ~200k characters) is redacted by a
    child process within a generous liveness bound; the quadratic patterns of before took
    minutes on 40k characters, on the daemon's event loop (a liveness bound, not a timing
    measurement: linear redaction needs well under a second here)."""
    import json
    import subprocess
    import sys

    script = (
        "import json, sys\n"
        "from gnomon.runtime.redact import Redactor\n"
        "cases = json.load(sys.stdin)\n"
        "print(json.dumps({k: Redactor.of([]).redact(v)[-12:] for k, v in cases.items()}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(ADVERSARIAL),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    tails = json.loads(done.stdout)
    assert tails["a long name before a secret"].endswith("token=" + MASK)
    assert tails["dotted name before a quoted secret"].endswith(f'": "{MASK}"')
