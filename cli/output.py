"""What every command shares: the home/url/json options, error reporting per CONTRACT §3.7
(``error: …`` and ``hint: …`` on stderr, the error's exit code), JSON output, and running
async client code."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import trio
from rich.console import Console

from gnomon.runtime.errors import GnomonError
from gnomon.runtime.home import Home, resolve_home
from gnomon.runtime.model import wire

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")
out = Console(highlight=False, soft_wrap=True)


def reports_errors(fn: F) -> F:
    """Print ``error: …`` (and ``hint: …``) on stderr and exit with the error's code;
    Ctrl-C exits 130 without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GnomonError as exc:
            click.echo(f"error: {exc.message}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper  # type: ignore[return-value]


def home_option(fn: F) -> F:
    """``--home DIR`` (else $GNOMON_HOME, $XDG_DATA_HOME/gnomon, ~/.local/share/gnomon)."""
    return click.option("--home", "home", metavar="DIR", help="gnomon home directory")(fn)


def client_options(fn: F) -> F:
    """``--home``, ``--url`` and ``--json``."""
    fn = click.option("--json", "as_json", is_flag=True, help="machine output (JSON)")(fn)
    fn = click.option("--url", metavar="WS_URL", help="daemon address (else daemon.json)")(fn)
    return home_option(fn)


def home_of(flag: str | None) -> Home:
    return Home(resolve_home(flag))


def run(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run async client code from a click command."""
    return trio.run(fn, *args)


def print_json(value: Any) -> None:
    """One JSON document on stdout (attrs values through the wire converter)."""
    click.echo(json.dumps(wire.unstructure(value), indent=2, ensure_ascii=False))
