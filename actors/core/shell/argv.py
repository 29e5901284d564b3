"""What a simple command runs, pure: its argv forms and the code it hands to a shell.

:func:`forms` gives every argv a deny rule is matched against: the words as the shell
passes them (quotes removed), without leading ``NAME=value`` assignments, with the
program's directory dropped (``/usr/bin/rm`` → ``rm``), and again after each wrapper —
``env nice ionice timeout nohup command exec builtin xargs sudo doas stdbuf setsid time
busybox`` — is stripped with its options and their arguments (``timeout -s KILL 5 rm`` →
``rm``). ``find … -exec CMD ;`` adds CMD. :func:`code` gives the shell code a command runs:
the words of ``eval``, a ``trap`` action, the script of ``sh -c``/``bash -lc``…, a
here-document fed to a shell — or ``None`` when that code is not known (a shell reading
a pipe or a file on stdin, ``eval "$x"``, ``source <(…)``). The model is in
docs/security.md.
"""

from __future__ import annotations

import re

import attrs

from gnomon.actors.core.shell.words import UNKNOWN, UNKNOWN_WORD, Simple

__all__ = ["SHELLS", "WRAPPERS", "code", "core", "forms", "template"]

SHELLS = frozenset("sh bash dash zsh ksh mksh ash yash posh".split())  # noqa: SIM905
_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_MAX_FORMS = 64
_MAX_WRAPPERS = 16


@attrs.frozen
class _Spec:
    """A wrapper's command line: options (with or without an argument), then the command."""

    args: str = ""  # short options taking an argument (-u USER, -uUSER)
    flags: str = ""  # short options without one
    attached: str = ""  # short options whose optional argument must be attached (xargs -i)
    long_args: frozenset[str] = frozenset()
    long_flags: frozenset[str] = frozenset()
    positionals: int = 0  # words between the options and the command (timeout DURATION)
    assignments: bool = False  # NAME=value words before the command (env, sudo)
    numeric: bool = False  # -5 is an option (nice)


def _spec(
    args: str = "",
    flags: str = "",
    long_args: str = "",
    long_flags: str = "",
    *,
    attached: str = "",
    positionals: int = 0,
    assignments: bool = False,
    numeric: bool = False,
) -> _Spec:
    return _Spec(
        args,
        flags,
        attached,
        long_args=frozenset(long_args.split()),
        long_flags=frozenset(long_flags.split()),
        positionals=positionals,
        assignments=assignments,
        numeric=numeric,
    )


WRAPPERS: dict[str, _Spec] = {
    "env": _spec("uCS", "0iv", "--unset --chdir --split-string",
                 "--ignore-environment --null --debug --list-signal-handling", assignments=True),
    "nice": _spec("n", "", "--adjustment", numeric=True),
    "ionice": _spec("cnpPu", "th", "--class --classdata --pid --pgid --uid", "--ignore"),
    "timeout": _spec("sk", "v", "--signal --kill-after", "--preserve-status --foreground --verbose",
                     positionals=1),
    "nohup": _spec(),
    "command": _spec("", "pvV"),
    "exec": _spec("a", "cl"),
    "builtin": _spec(),
    "xargs": _spec("aEdILnPs", "0prtxo", "--arg-file --delimiter --max-lines --max-args "
                   "--max-procs --max-chars --process-slot-var", "--null --interactive "
                   "--no-run-if-empty --verbose --exit --open-tty", attached="eil"),
    "sudo": _spec("CDghpRrTtUu", "AbEeHiKklnPSsVv", "--close-from --chdir --group --host "
                  "--prompt --chroot --role --type --command-timeout --other-user --user",
                  "--askpass --background --preserve-env --edit --set-home --login "
                  "--non-interactive --preserve-groups --stdin --shell", assignments=True),
    "doas": _spec("Cu", "nsL"),
    "stdbuf": _spec("ioe", "", "--input --output --error"),
    "setsid": _spec("", "cfw", "", "--ctty --fork --wait"),
    "time": _spec("fo", "apqv", "--format --output", "--append --portability --quiet --verbose"),
    "busybox": _spec(),
}  # fmt: skip
_EXEC = frozenset(("-exec", "-execdir", "-ok", "-okdir"))


def basename(word: str) -> str:
    """The program's name without its directory (``//usr/bin/rm`` → ``rm``)."""
    tail = word.rsplit("/", 1)[-1]
    return tail or word


def template(argv: tuple[str, ...] | list[str]) -> str:
    """``argv`` as one text: words joined by spaces, empty words left out, and a later
    word that is wholly unknown as :data:`UNKNOWN_WORD` (it may be no word, or several)."""
    out = ""
    for word in argv:
        if word == UNKNOWN and out:
            out += UNKNOWN_WORD
        elif word:
            out += (" " if out else "") + word
    return out


def forms(simple: Simple) -> list[tuple[str, ...]]:
    """Every argv of ``simple`` a deny rule is matched against (module docstring)."""
    words = tuple(w.value for w in simple.words)
    argv = tuple(w for w, a in zip(words, simple.assign, strict=True) if not a)
    out = [words, argv]
    _unwrap(argv, out, 0)
    return list(dict.fromkeys(out))


def core(simple: Simple) -> tuple[int, tuple[str, ...]]:
    """The index in ``simple.words`` of the program that runs after the wrappers, and its
    argv (the first reading when a wrapper's options are ambiguous)."""
    index = next((k for k, a in enumerate(simple.assign) if not a), len(simple.words))
    argv = tuple(w.value for w in simple.words[index:])
    for _ in range(_MAX_WRAPPERS):
        spec = WRAPPERS.get(basename(argv[0])) if argv else None
        starts = sorted(_starts(spec, argv)) if spec is not None else []
        if not starts:
            break
        index, argv = index + starts[0], argv[starts[0] :]
    return index, (basename(argv[0]), *argv[1:]) if argv else argv


def _unwrap(argv: tuple[str, ...], out: list[tuple[str, ...]], depth: int) -> None:
    if not argv:
        return
    if depth >= _MAX_WRAPPERS or len(out) >= _MAX_FORMS:
        out.append((UNKNOWN,))  # too many readings to follow: anything could run
        return
    name = basename(argv[0])
    argv = (name, *argv[1:])
    out.append(argv)
    if name == "find":
        for sub in _find_exec(argv):
            _unwrap(sub, out, depth + 1)
    spec = WRAPPERS.get(name)
    for start in sorted(_starts(spec, argv)) if spec is not None else ():
        rest = argv[start:]
        _unwrap(_xargs(argv[:start], rest) if name == "xargs" else rest, out, depth + 1)


def _starts(spec: _Spec, argv: tuple[str, ...]) -> set[int]:
    """Where the wrapped command may start: unknown options may or may not take a word."""
    found, seen, todo = set(), set(), [(1, False)]
    while todo:
        i, ended = todo.pop()
        if (i, ended) in seen or i >= len(argv):
            continue
        seen.add((i, ended))
        word = argv[i]
        if UNKNOWN in word or word == "-":
            found.add(i)  # an unknown word may be the command itself; `env -` is `env -i`
            todo.append((i + 1, ended))
        elif not ended and word == "--":
            todo.append((i + 1, True))
        elif not ended and word.startswith("-") and word != "-":
            todo.extend((j, False) for j in _after_option(spec, argv, i))
        else:
            while spec.assignments and i < len(argv) and _ASSIGN.match(argv[i]):
                i += 1
            if i + spec.positionals < len(argv):
                found.add(i + spec.positionals)
    return found


def _after_option(spec: _Spec, argv: tuple[str, ...], i: int) -> list[int]:
    """The indexes where option ``argv[i]`` may end (two when it is not known)."""
    word = argv[i]
    if word.startswith("--"):
        name, eq, _ = word.partition("=")
        if eq or name in spec.long_flags:
            return [i + 1]
        return [i + 2] if name in spec.long_args else [i + 1, i + 2]
    if spec.numeric and word[1:].isdigit():
        return [i + 1]
    for k, ch in enumerate(word[1:], 2):
        if ch in spec.args:
            return [i + 1] if k < len(word) else [i + 2]
        if ch in spec.attached:
            return [i + 1]
        if ch not in spec.flags:
            return [i + 1, i + 2]
    return [i + 1]


def _xargs(options: tuple[str, ...], rest: tuple[str, ...]) -> tuple[str, ...]:
    """The command xargs runs: more unknown arguments, its replace-string unknown."""
    replace = None
    for k, word in enumerate(options):
        if word == "-I" and k + 1 < len(options):
            replace = options[k + 1]
        elif word.startswith(("-I", "-i", "--replace")):
            replace = word.partition("=")[2] if word.startswith("--") else word[2:]
            replace = replace or "{}"
    if replace:
        rest = tuple(w.replace(replace, UNKNOWN) for w in rest)
    return (*(rest or ("echo",)), UNKNOWN)


def _find_exec(argv: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The commands of ``find … -exec CMD {} ;`` (``{}`` unknown)."""
    out, k = [], 1
    while k < len(argv):
        if argv[k] in _EXEC:
            end = next((j for j in range(k + 1, len(argv)) if argv[j] in (";", "+")), len(argv))
            out.append(tuple(w.replace("{}", UNKNOWN) for w in argv[k + 1 : end]))
            k = end
        k += 1
    return out


def code(simple: Simple) -> list[str | None]:
    """The shell code ``simple`` runs (``None``: code not known statically)."""
    stdin = _stdin(simple)
    out: list[str | None] = []
    for argv in forms(simple):
        if argv:
            out.extend(_code(basename(argv[0]), argv[1:], stdin))
    return out


def _code(name: str, args: tuple[str, ...], stdin: str | None) -> list[str | None]:
    if name == "eval":
        text = " ".join(args[1:] if args[:1] == ("--",) else args)
        return [None if UNKNOWN in text else text] if text.strip() else []
    if name == "trap":
        args = args[1:] if args[:1] == ("--",) else args
        action = args[0] if len(args) > 1 and args[0] not in ("-", "-p", "-l") else ""
        return [None if UNKNOWN in action else action] if action.strip() else []
    if name in (".", "source"):
        return [None] if args and _reads_unknown(args[0]) else []
    if name in SHELLS:
        return _shell_code(args, stdin)
    if name == "env":
        return _split_string(args)
    return []


def _shell_code(args: tuple[str, ...], stdin: str | None) -> list[str | None]:
    """``sh [OPTIONS] [-c CODE | SCRIPT | (stdin)]``: the code it runs."""
    i, command, reads_stdin = 0, False, False
    while i < len(args):
        word = args[i]
        if UNKNOWN in word:
            return [None]
        if word in ("--", "-"):
            i += 1
            break
        if word.startswith("--"):
            i += 2 if word in ("--rcfile", "--init-file") else 1
        elif word[:1] in "-+" and len(word) > 1:
            command = command or (word[0] == "-" and "c" in word)
            reads_stdin = reads_stdin or any(f in word[1:] for f in "si")
            i += 1 + word.count("o") + word.count("O")
        else:
            break
    rest = args[i:]
    if command:
        return [None if UNKNOWN in rest[0] else rest[0]] if rest else []
    if rest and not reads_stdin:
        return [None] if _reads_unknown(rest[0]) else []  # a script file is not read
    return [stdin]


def _reads_unknown(path: str) -> bool:
    """Whether a script path is unknown text or standard input."""
    return UNKNOWN in path or path.startswith(("/dev/stdin", "/dev/fd/", "/proc/self/fd/"))


def _split_string(args: tuple[str, ...]) -> list[str | None]:
    """``env -S 'CMD ARGS'``: the string is read as words, like shell code."""
    for k, word in enumerate(args):
        if word in ("-S", "--split-string") and k + 1 < len(args):
            text = " ".join(args[k + 1 :])
        elif word.startswith(("-S", "--split-string=")):
            text = " ".join((word.partition("=")[2] or word[2:], *args[k + 1 :]))
        else:
            continue
        return [None if UNKNOWN in text else text]
    return []


def _stdin(simple: Simple) -> str | None:
    """What a shell reading ``simple``'s stdin reads, when known (a here-document)."""
    text: str | None = None
    for r in simple.redirects:
        if r.op in ("<<", "<<-") and r.heredoc is not None:
            text = r.heredoc.body
        elif r.op == "<<<" and r.target is not None:
            text = r.target.value + "\n"
        elif r.op in ("<", "<>", "<&"):
            text = None
    return None if text is None or UNKNOWN in text else text
