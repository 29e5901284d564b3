"""What every command shares: the home/url/json/output options, error reporting (``error:
…`` and ``hint: …`` on stderr with the error's exit code; under ``--json`` one JSON object
on stderr instead), JSON output, and running async client code.

Heavy libraries are imported where they are used: the rich console (:data:`out`) is built
on first use, the wire converter when JSON of attrs values is printed (the daemon's
answers are plain JSON already and skip it), trio when async code runs, so a command that
needs none of them does not pay for them (``docs/performance.md``).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from gnomon.runtime.errors import GnomonError
from gnomon.runtime.home import Home, resolve_home

if TYPE_CHECKING:
    from rich.console import Console

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


class _LazyConsole:
    """The rich console, made at its first use (rich costs ~50 ms to import)."""

    _console: Any = None

    def __getattr__(self, name: str) -> Any:
        if _LazyConsole._console is None:
            from rich.console import Console

            _LazyConsole._console = Console(highlight=False, soft_wrap=True)
        return getattr(_LazyConsole._console, name)


out = cast("Console", _LazyConsole())


def error_object(exc: GnomonError | None, message: str, exit_code: int) -> dict[str, Any]:
    """The ``--json`` form of an error: ``{"error": {type, message, exit_code, hint?, …}}``
    with the offending token, accepted forms, field, reason and retry_after when known."""
    body: dict[str, Any] = {
        "type": type(exc).__name__ if exc is not None else "UsageError",
        "message": message,
        "exit_code": exit_code,
    }
    if exc is not None:
        for key in ("hint", "token", "accepted", "field", "reason", "retry_after"):
            value = getattr(exc, key, None)
            if value not in (None, (), ""):
                body[key] = list(value) if isinstance(value, tuple) else value
    return {"error": body}


def fail(
    message: str,
    exit_code: int,
    *,
    hint: str | None = None,
    as_json: bool = False,
    exc: GnomonError | None = None,
) -> None:
    """Report an error on stderr (text, or one JSON line under ``--json``) and exit."""
    if as_json:
        found = error_object(exc, message, exit_code)
        if hint and "hint" not in found["error"]:
            found["error"]["hint"] = hint
        click.echo(json.dumps(found, ensure_ascii=False), err=True)
    else:
        click.echo(f"error: {message}", err=True)
        if hint:
            click.echo(f"hint: {hint}", err=True)
    sys.exit(exit_code)


def wants_json(argv: Sequence[str]) -> bool:
    """Whether a command line asks for JSON (``--json``, ``-o json``, ``--output=json``)."""
    words = list(argv)
    for i, word in enumerate(words):
        if word == "--json" or word in ("-ojson", "--output=json"):
            return True
        if word in ("-o", "--output") and i + 1 < len(words) and words[i + 1] == "json":
            return True
    return False


def reports_errors(fn: F) -> F:
    """Print ``error: …`` (and ``hint: …``) on stderr — one JSON object there under
    ``--json`` — and exit with the error's code; Ctrl-C exits 130 without a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except GnomonError as exc:
            fail(exc.message, exc.exit_code, hint=exc.hint, as_json=as_json, exc=exc)
        except KeyboardInterrupt:
            if as_json:
                fail("interrupted", 130, as_json=True)
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


def table_options(fn: F) -> F:
    """:func:`client_options` plus :func:`output_option`."""
    return client_options(output_option(fn))


def output_option(fn: F) -> F:
    """``-o/--output wide|json`` for commands that print a table: the command receives
    ``as_json`` (``--json`` or ``-o json``) and ``wide``."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        output = kwargs.pop("output", None)
        kwargs["as_json"] = bool(kwargs.get("as_json")) or output == "json"
        kwargs["wide"] = output == "wide"
        return fn(*args, **kwargs)

    option = click.option(
        "-o",
        "--output",
        "output",
        type=click.Choice(["wide", "json"]),
        help="wide: every column, uncut; json: as --json",
    )
    return cast("F", option(wrapper))


def home_of(flag: str | None) -> Home:
    return Home(resolve_home(flag))


def run(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run async client code from a click command."""
    import trio

    return trio.run(fn, *args)


_SCALARS = (str, int, float, bool, type(None))


def is_plain_json(value: Any) -> bool:
    """Whether ``value`` is made of JSON's own types only (dicts with string keys, lists,
    strings, numbers, booleans, None): what the wire converter would return unchanged."""
    if isinstance(value, _SCALARS):
        return True
    if type(value) is list:
        return all(is_plain_json(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and is_plain_json(v) for k, v in value.items())
    return False


def to_json(value: Any) -> Any:
    """``value`` as JSON types: as it is when plain, else through the wire converter
    (imported only then: it costs a CLI call ~50 ms of CPU, docs/performance.md)."""
    if is_plain_json(value):
        return value
    from gnomon.runtime.model import wire

    return wire.unstructure(value)


def print_json_line(value: Any) -> None:
    """One JSON document on one line of stdout: an NDJSON stream's item."""
    click.echo(json.dumps(to_json(value), ensure_ascii=False))


def print_json(value: Any) -> None:
    """One JSON document on stdout (attrs values through the wire converter)."""
    click.echo(json.dumps(to_json(value), indent=2, ensure_ascii=False))
