"""The Host-header rule of the front door (DNS-rebinding defence): which names a daemon
answers for each kind of bind address, ports, configured names, malformed headers."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.errors import InvalidInput
from gnomon.runtime.gateway.hosts import allowed_hosts, check_config, split_host

PORT = 8765
LOOPBACK = allowed_hosts("127.0.0.1", PORT, "")


@pytest.mark.parametrize(
    "header",
    ["127.0.0.1:8765", "localhost:8765", "[::1]:8765", "127.0.0.1", "LOCALHOST:8765", "localhost."],
)
def test_loopback_bind_answers_loopback_names(header: str) -> None:
    """A loopback-bound daemon answers its address and the loopback names, with its own
    port or none."""
    assert LOOPBACK.allows(header)


@pytest.mark.parametrize(
    "header",
    [
        "evil.example:8765",
        "evil.example",
        "localhost.evil.example:8765",
        "127.0.0.1:8766",
        "10.0.0.5:8765",
        "",
        "127.0.0.1:notaport",
        "[::1",
        "a b:8765",
        "127.0.0.1:8765/x",
    ],
)
def test_loopback_bind_refuses_other_hosts(header: str) -> None:
    """Any other name, another port, no header or a malformed one is refused."""
    assert not LOOPBACK.allows(header)


def test_refusal_names_the_host_and_the_config_key() -> None:
    """The 403 body is one line naming the host, the accepted names and the config key."""
    text = LOOPBACK.refusal("evil.example:8765")
    assert "\n" not in text
    assert "'evil.example:8765'" in text
    assert "localhost" in text
    assert "gateway.allowed_hosts" in text
    assert "without a Host header" in LOOPBACK.refusal("")


def test_configured_names_and_pairs() -> None:
    """``gateway.allowed_hosts`` adds names (bound port or none) and exact name:port pairs;
    ``*`` allows anything."""
    rule = allowed_hosts("127.0.0.1", PORT, "gnomon.internal, tunnel.example:9000")
    assert rule.allows("gnomon.internal:8765")
    assert rule.allows("gnomon.internal")
    assert not rule.allows("gnomon.internal:9000")
    assert rule.allows("tunnel.example:9000")
    assert not rule.allows("tunnel.example:8765")
    assert allowed_hosts("127.0.0.1", PORT, "*").allows("anything.example:1")


def test_specific_address_bind_answers_only_that_address() -> None:
    """Bound to one non-loopback address, the loopback names are not answered (they do
    not reach it)."""
    rule = allowed_hosts("192.0.2.7", PORT, "")
    assert rule.allows("192.0.2.7:8765")
    assert not rule.allows("localhost:8765")
    assert not rule.allows("192.0.2.8:8765")


@pytest.mark.parametrize("bound", ["0.0.0.0", "::"])
def test_wildcard_bind_answers_any_ip_literal_but_no_foreign_name(bound: str) -> None:
    """Bound to every address, any IP literal (never rebindable) and loopback names are
    answered, a foreign DNS name is not."""
    rule = allowed_hosts(bound, PORT, "")
    assert rule.allows("192.0.2.8:8765")
    assert rule.allows("[2001:db8::1]:8765")
    assert rule.allows("localhost:8765")
    assert not rule.allows("evil.example:8765")


def test_bad_config_entry_is_refused() -> None:
    """An entry that is not name, name:port or * is invalid input naming it."""
    check_config("a.example, b.example:80, *")
    with pytest.raises(InvalidInput) as bad:
        check_config("ok.example, not a host")
    assert bad.value.token == "not a host"
    assert bad.value.field == "gateway.allowed_hosts"


LABEL = st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True)


@given(
    labels=st.lists(LABEL, min_size=2, max_size=4),
    port=st.one_of(st.none(), st.integers(1, 65535)),
    upper=st.booleans(),
)
def test_foreign_domain_names_are_always_refused(
    labels: list[str], port: int | None, upper: bool
) -> None:
    """Whatever its spelling or port, a multi-label DNS name that is not configured is
    refused by a loopback-bound daemon (the rebinding attacker controls only such names)."""
    name = ".".join(labels)
    header = (name.upper() if upper else name) + ("" if port is None else f":{port}")
    assert not LOOPBACK.allows(header)


@given(name=LABEL, port=st.integers(0, 65535))
def test_split_host_reads_name_and_port(name: str, port: int) -> None:
    """``name:port`` and ``[v6]:port`` split into the lower-cased name and the port."""
    assert split_host(f"{name.upper()}:{port}") == (name, port)
    assert split_host(f"[::1]:{port}") == ("::1", port)
