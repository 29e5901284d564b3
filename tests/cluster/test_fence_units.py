"""Which partitions a unit of work touches (runtime/cluster/fence.py): those of every job
it claims for, deletes or reports on; a unit of no job (a daemon announcement) none."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytest.importorskip("psycopg")

from gnomon.runtime.cluster.core import partition_of
from gnomon.runtime.cluster.fence import changes_partitions
from gnomon.runtime.model.events import EventDraft, EventType
from gnomon.runtime.store import Changes

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_unit_touches_the_partitions_of_its_jobs() -> None:
    of = changes_partitions(64)
    unit = Changes(
        claims=(("aaaa1111", NOW),),
        deleted_jobs=("bbbb2222",),
        events=(EventDraft(type=EventType.JOB_FIRED, timestamp=NOW, job_id="cccc3333"),),
    )
    assert of(unit) == {partition_of(j, 64) for j in ("aaaa1111", "bbbb2222", "cccc3333")}
    announce = Changes(events=(EventDraft(type=EventType.DAEMON_STARTED, timestamp=NOW),))
    assert of(announce) == set()
