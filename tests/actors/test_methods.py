"""The method families over a real engine in virtual time: the table they serve, and
``job.clear`` deleting through the engine (the directory forgets what the store drops)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import trio
from support.engine_world import EPOCH, make_world

from gnomon.actors.methods.context import MethodContext
from gnomon.actors.service import Service
from gnomon.actors.shell_policy import ShellPolicy
from gnomon.runtime import Supervisor
from gnomon.runtime import protocol_names as names
from gnomon.runtime.config import load_config
from gnomon.runtime.errors import NotFound
from gnomon.runtime.model.actions import NoopAction
from gnomon.runtime.model.enums import JobStatus
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.schedule import OnceSchedule
from gnomon.runtime.protocol import METHODS
from gnomon.runtime.protocol_access import Caller
from gnomon.runtime.protocol_jobs import ClearParams
from gnomon.runtime.store.sqlite import SqliteStore

ADMIN = Caller(token_id="admin", scope="admin", owner="user:alice")
#: Served by the gateway itself, not by a method family.
GATEWAY_METHODS = {
    names.SYSTEM_HELLO,
    names.SYSTEM_LOGIN_URL,
    names.SYSTEM_SESSION,
    names.RPC_DISCOVER,
    names.EVENTS_SUBSCRIBE,
    names.EVENTS_UNSUBSCRIBE,
}
TOKEN_METHODS = {
    names.TOKEN_CREATE,
    names.TOKEN_LIST,
    names.TOKEN_REVOKE,
    names.AGENTS_STATUS,
    names.AGENTS_SET,
}


async def test_families_serve_every_method_but_the_gateways_own(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """Without the token book the families serve every other method of the table, once."""
    w = await make_world(nursery, tmp_path)
    ctx = MethodContext(w.tree, w.store, load_config(), ShellPolicy(tmp_path / "policy"))
    served = set(Service(ctx).handlers())
    assert served == set(METHODS) - GATEWAY_METHODS - TOKEN_METHODS


async def test_clear_deletes_through_the_engine(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """A finished job cleared with ``yes`` is gone from the store and the directory; without
    ``yes`` it is only listed."""
    w = await make_world(nursery, tmp_path)
    ctx = MethodContext(w.tree, w.store, load_config(), ShellPolicy(tmp_path / "policy"))
    clear = Service(ctx).handlers()[names.JOB_CLEAR]
    job = await w.create(
        JobSpec(
            name="once", schedule=OnceSchedule(at=EPOCH + timedelta(seconds=1)), action=NoopAction()
        )
    )
    await trio.sleep(5)
    assert (await w.get(job.id)).status is JobStatus.COMPLETED
    listed = await clear(ADMIN, ClearParams())
    assert (listed.count, await w.store.get_job(job.id) is not None) == (1, True)
    cleared = await clear(ADMIN, ClearParams(yes=True))
    assert [j.name for j in cleared.jobs] == ["once"]
    assert await w.store.get_job(job.id) is None
    assert w.tree.directory.get(job.id) is None
    with pytest.raises(NotFound):
        await w.get(job.id)


async def test_health_writes_through_the_writer_and_sees_it_stopped(
    nursery: trio.Nursery, autojump_clock: trio.abc.Clock, tmp_path: Path
) -> None:
    """system.health's probe is a real write (a transaction of the writer); once the
    writer stops, the store is reported not writable, with the reason."""
    w = await make_world(nursery, tmp_path)
    store = SqliteStore(str(tmp_path / "probed.db"), inline=True)
    writer = Supervisor("infra", children=[store.writer_spec()])
    await nursery.start(writer.run)
    ctx = MethodContext(w.tree, store, load_config(), ShellPolicy(tmp_path / "policy"))
    health = Service(ctx).handlers()[names.SYSTEM_HEALTH]
    before = store.transactions
    report = await health(ADMIN, None)
    assert (report.ok, report.store_writable, store.transactions) == (True, True, before + 1)
    await writer.stop()
    report = await health(ADMIN, None)
    assert (report.ok, report.store_writable) == (False, False)
    assert report.reason == "the store is not running"
