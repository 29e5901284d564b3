"""docs/commands.md describes every command and flag the CLI has (a test fails when a
command or flag is added without its documentation), and its job file example reads."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click

from gnomon.cli.jobfile import read_file, specs_of
from gnomon.cli.main import cli
from gnomon.runtime.model.schedule import CronSchedule, IntervalSchedule, WhenReadySchedule

ROOT = Path(__file__).resolve().parents[1]
COMMON = {"--home", "--url", "--json", "--help"}


def commands(cmd: click.Command, path: tuple[str, ...]) -> list[tuple[str, click.Command]]:
    found = [(" ".join(path), cmd)]
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            found += commands(sub, (*path, name))
    return found


def section(doc: str, path: str) -> str | None:
    """The text under ``### `PATH``` up to the next heading of level 2 or 3."""
    marker = f"### `{path}`\n"
    if marker not in doc:
        return None
    body = doc.split(marker, 1)[1]
    for stop in ("\n### ", "\n## "):
        body = body.split(stop, 1)[0]
    return body


def test_every_leaf_command_and_flag_is_documented() -> None:
    """Each leaf command has a section naming each of its flags (common ones aside)."""
    doc = (ROOT / "docs" / "commands.md").read_text()
    missing: list[str] = []
    for path, cmd in commands(cli, ("gnomon",)):
        if isinstance(cmd, click.Group) or path == "gnomon":
            continue
        text = section(doc, path)
        if text is None:
            missing.append(f"section for {path!r}")
            continue
        for param in cmd.params:
            if isinstance(param, click.Option) and not param.hidden:
                longs = [o for o in param.opts if o.startswith("--")]
                if longs and not set(longs) & COMMON and not any(o in text for o in longs):
                    missing.append(f"{path} {longs[0]}")
    assert not missing, "docs/commands.md lacks: " + ", ".join(missing)


def test_the_apply_example_reads_as_documented() -> None:
    """The job file in ``gnomon apply``'s section parses into the three jobs it describes."""
    text = section((ROOT / "docs" / "commands.md").read_text(), "gnomon apply")
    assert text is not None
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    now = datetime(2026, 4, 30, 20, 0, tzinfo=UTC)
    backup, report, wait_db = specs_of("jobs.yaml", read_file("jobs.yaml", example), now=now)
    assert backup.schedule == CronSchedule(expr="0 3 * * *", tz="Europe/Berlin")
    assert (backup.i_know, backup.tags) == (True, {"team": "ops"})
    assert isinstance(report.schedule, IntervalSchedule)
    assert report.schedule.every == 3600
    assert (report.depends_on, report.budget.max_retries) == (("backup",), 5)
    assert isinstance(wait_db.schedule, WhenReadySchedule)
    assert wait_db.budget.action_timeout == 30
