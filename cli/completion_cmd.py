"""``gnomon completion SHELL``: print the shell completion script (bash, zsh or fish).

Install with e.g. ``gnomon completion bash > ~/.local/share/bash-completion/completions/gnomon``
or ``eval "$(gnomon completion zsh)"`` in ``~/.zshrc``. Completion covers commands,
subcommands, flags and their choices (click's completion protocol, ``_GNOMON_COMPLETE``).
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class


@click.command("completion")
@click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
@click.pass_context
def completion(ctx: click.Context, shell: str) -> None:
    """Print the completion script for SHELL (bash, zsh or fish)."""
    root = ctx.find_root().command
    cls = get_completion_class(shell)
    assert cls is not None  # the choice admits only shells click supports
    script = cls(root, {}, "gnomon", "_GNOMON_COMPLETE").source()
    click.echo(script)
