"""docs/commands.md describes every command and flag the CLI has (a test fails when a
command or flag is added without its documentation)."""

from __future__ import annotations

from pathlib import Path

import click

from gnomon.cli.main import cli

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
