"""docs/architecture.md walks one job from ``gnomon schedule`` to a committed
``job.fired`` file by file: the walk stays short (at most 25 modules), every file it
names exists, and each step's hand-off is still in the file the walk says."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "architecture.md").read_text()
HEADING = "## One job, from `gnomon schedule` to a committed `job.fired`"

#: What each step's file must still contain for the walk to hold.
HAND_OFFS = {
    "cli/schedule_cmd.py": ("JOB_CREATE", "spec_from_options"),
    "cli/jobspec.py": ("def spec_from_options", "schedule_from_flags", "parse_action"),
    "runtime/model/when.py": ("def schedule_from_flags",),
    "runtime/model/action_dsl.py": ("def parse_action",),
    "runtime/model/wire.py": ("def unstructure",),
    "cli/client.py": ("def request", "open_connection"),
    "client/rpc.py": ("class Connection",),
    "runtime/gateway/http.py": ("Session(",),
    "runtime/gateway/session.py": ("handlers.get", "gate"),
    "runtime/protocol.py": ('"job.create", CreateParams, JobView',),
    "actors/methods/jobs.py": ("admit_job", "engine.create"),
    "actors/engine.py": ("admission.check(", "fsm.Created(", "persistence.save(", "index_new("),
    "actors/admission.py": ("def check(",),
    "actors/core/job/fsm.py": ("Created",),
    "actors/persistence.py": ("async def save(", "Changes("),
    "runtime/store/writer.py": ("_publish",),
    "runtime/store/sqlite.py": ("commit_batch",),
    "actors/directory.py": ("async def activate(", "async def run_timer("),
    "actors/job/actor.py": ("def job_actor(",),
    "actors/job/core.py": ("fsm.FireDue(", "next_slot"),
    "runtime/model/firing.py": ("def next_fire(",),
    "actors/core/job/fast.py": ("def plain_fire(", "EventType.JOB_FIRED"),
    "actors/job/units.py": ("def claims_of(", "payloads.Fired("),
    "runtime/model/payloads.py": ("class Fired",),
}


def walk() -> list[str]:
    """The files of the walk's table, in order."""
    section = DOC.split(HEADING, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| \d+ \| `([^`]+)` \|", section, flags=re.MULTILINE)


def test_the_walk_is_short_and_names_files_that_exist() -> None:
    files = walk()
    assert 10 <= len(files) <= 25, files
    assert len(set(files)) == len(files), "a module counted twice"
    missing = [f for f in files if not (ROOT / f).is_file()]
    assert not missing, f"the walk names files that do not exist: {missing}"


def test_each_step_hands_off_where_the_walk_says() -> None:
    assert set(walk()) == set(HAND_OFFS), "the walk and this test list different files"
    gone = [
        f"{path}: {needle!r}"
        for path, needles in HAND_OFFS.items()
        for needle in needles
        if needle not in (ROOT / path).read_text()
    ]
    assert not gone, "the walk no longer matches the code:\n" + "\n".join(gone)
