"""Names cannot hide ids, at the daemon: job.create refuses a name that reads as a job id
or id prefix (-32602 with the token and a hint), so the shown id keeps finding its job."""

from __future__ import annotations

import pytest
from gateway.rawws import connect, error_of, hourly_spec
from support.daemon_proc import RealDaemon

pytestmark = pytest.mark.slow


async def test_a_shown_id_cannot_become_another_jobs_name(daemon: RealDaemon) -> None:
    """After a refused `d38fcb8c`-style name, the 8-digit shown id still finds the job."""
    async with connect(daemon) as conn:
        first = await conn.result("job.create", {"spec": hourly_spec("names-original")})
        shown = first["id"][:8]
        spec = {**hourly_spec("renamed-below"), "name": shown}  # past the CLI's own check
        err = error_of(await conn.call("job.create", {"spec": spec}), -32602)
        assert err["data"]["token"] == shown
        assert err["data"]["hint"] == f"add a letter outside a-f or a separator, e.g. 'job-{shown}'"
        found = await conn.result("job.get", {"ref": shown})
        assert found["job"]["id"] == first["id"]
        await conn.result("job.cancel", {"refs": [first["id"]]})
