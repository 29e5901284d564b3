"""One real daemon per test module (temp home, port 0), with limits raised so that the
load tests measure the gateway and not the admission rate limits."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from support.daemon_proc import RealDaemon, cli_env

MAX_MESSAGE_BYTES = 64 * 1024
LIMITS = {
    "GNOMON_LIMITS_GLOBAL_RPS": "100000",
    "GNOMON_LIMITS_GLOBAL_BURST": "100000",
    "GNOMON_LIMITS_OWNER_RPS": "100000",
    "GNOMON_LIMITS_OWNER_BURST": "100000",
    "GNOMON_GATEWAY_MAX_MESSAGE_BYTES": str(MAX_MESSAGE_BYTES),
}


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealDaemon]:
    """A daemon shared by the module's tests; it must stop cleanly (exit 0) afterwards."""
    home = tmp_path_factory.mktemp("gateway") / "home"
    running = RealDaemon.start(home, env=cli_env(home, **LIMITS))
    try:
        yield running
    finally:
        code = running.stop()
    assert code == 0, (home / "test-daemon.out").read_text(errors="replace")
