"""Hypothesis strategies: one program run with exact arguments, spelled in many shell ways.

:func:`spelled` draws a program name and arguments and writes a shell line that runs
exactly that argv: each word quoted or escaped at random (backslashes, ``'…'``, ``"…"``,
``$'…'`` with hex escapes, adjacent pieces, empty ``''`` pieces), the program behind a
random path (``/bin/``, ``/usr/bin/``, ``./``, ``//``…), behind a random chain of wrappers
with random options, after ``NAME=value`` assignments and redirections, nested in
``eval``, ``sh -c``, ``bash -lc "…"``, subshells, groups, substitutions, loops, pipes and
here-documents. ``runnable=True`` keeps only what really runs on this machine with the
program on ``PATH`` (tests/system/test_policy_generator.py checks that it does).
"""

from __future__ import annotations

import os
import re
import shlex
import string

import attrs
from hypothesis import strategies as st

SAFE = string.ascii_letters + string.digits + "-_./=,:@%+"
SPECIAL = ";&|'\"$`\\()<>#!{}~*?[]^"
RESERVED = frozenset(
    "if then else elif fi while until do done for select case in esac function time coproc "  # noqa: SIM905
    "env nice ionice timeout nohup command exec builtin xargs sudo doas stdbuf setsid busybox "
    "sh bash dash zsh ksh mksh ash yash posh eval trap source find alias".split()
)
WRAPPERS: dict[str, list[list[str]]] = {
    "env": [[], ["-i"], ["-u", "HOME"], ["FOO=1"], ["-i", "FOO=1", "BAR=2"], ["--"], ["-"],
            ["--ignore-environment"], ["-C", "/tmp"]],
    "nice": [[], ["-n", "5"], ["-n5"], ["-5"], ["--adjustment=5"], ["--adjustment", "5"]],
    "ionice": [[], ["-c", "3"], ["-c2", "-n7"], ["-t"]],
    "timeout": [["5"], ["-s", "KILL", "5"], ["--signal=TERM", "-k", "2", "10"], ["-v", "5"],
                ["--preserve-status", "1m"]],
    "nohup": [[], ["--"]],
    "command": [[], ["-p"], ["--"]],
    "exec": [[], ["-a", "name"], ["-c"], ["-l"]],
    "builtin": [[]],
    "xargs": [[], ["-0"], ["-n", "1"], ["-r"], ["-P", "4", "-n1"], ["-d", ","], ["-t"]],
    "sudo": [[], ["-u", "root"], ["-E"], ["-n", "-u", "root"], ["--user=root"], ["-H", "FOO=1"]],
    "doas": [[], ["-u", "root"], ["-n"]],
    "stdbuf": [["-oL"], ["-o", "L"], ["-i0", "-e", "0"], ["--output=L"]],
    "setsid": [[], ["-w"], ["--wait"]],
    "time": [[], ["-p"], ["-f", "%e"], ["-o", "/dev/null"]],
    "busybox": [[]],
}  # fmt: skip
#: Wrappers and options that run anywhere (no root tools, no environment or cwd reset).
RUNNABLE = {
    "env": [[], ["-u", "HOME"], ["FOO=1"], ["--"]],
    "nice": WRAPPERS["nice"],
    "timeout": WRAPPERS["timeout"],
    "nohup": WRAPPERS["nohup"],
    "command": [[], ["--"]],
    "xargs": [[], ["-n", "1"], ["-P", "4", "-n1"], ["-t"]],
    "stdbuf": WRAPPERS["stdbuf"],
    "setsid": WRAPPERS["setsid"],
    "time": [[], ["-p"]],
}
PATHS = ["", "/bin/", "/usr/bin/", "./", "//", "/usr//local/bin/", "../bin/", "/opt/x/../bin/"]
NESTINGS = [
    "eval {q}", "sh -c {q}", "bash -c {q}", "bash -lc {dq}", "bash -c {dq}", "dash -c {q}",
    "sh -ec {q}", "bash -o pipefail -c {q}", "bash --norc -c -- {q}", "({c})", "( {c}\n)",
    "{{ {c}\n}}", "echo $({c}\n)", "echo `{bt}`", "if true; then {c}\nfi", "true && {c}",
    "false || {c}", "echo x | {c}", "{c} &", "while {c}\ndo break; done",
    "for i in 1; do {c}\ndone", "case x in x) {c}\n;; esac", "ls; {c}", "\n{c}",
    "cat <<'G9EOF'\nfoo\nG9EOF\n{c}", "bash <<'G9EOF'\n{c}\nG9EOF\n", "sh <<< {q}",
    "f() {{ {c}\n}}; f",
]  # fmt: skip
#: Nestings that run the command exactly once, with this PATH, in bash when it may use $'…'.
RUNNABLE_NESTINGS = [
    n
    for n in NESTINGS
    if n not in ("sh -c {q}", "dash -c {q}", "sh -ec {q}", "{c} &", "echo x | {c}", "sh <<< {q}")
    and "-lc" not in n  # a login shell resets PATH
    and n != "({c})"  # ((…)) is arithmetic in bash
]


#: Lines that run ``rm -rf X`` in bash or in dash while a reader that gets the shell's
#: grammar slightly wrong sees no rm: bash and dash split them differently, or a quote in
#: a here-document, a delimiter or arithmetic would hide what follows.
HIDING_LINES = [
    "echo $'foo\\' ; rm -rf X ; echo ''",
    "ls &>/dev/null rm -rf X",
    'echo "${x:-\'}"; rm -rf X; echo "\'}"',
    "cat <<EOF\nit's\nEOF\nrm -rf X",
    "cat <<-EOF\n\tit's\n\tEOF\nrm -rf X",
    "x=$(cat <<EOF\nfoo\nEOF); rm -rf X",
    "x=$(cat <<EOF\nEOFrm -rf X)\nEOF\n)",
    "cat <<$'EOF'\nx\nEOF\nrm -rf X\n$EOF",
    "((x<<2))\nit's\n2\nrm -rf X",
    "cat <<${x} &rm -rf X",
]


@attrs.frozen
class Spelled:
    """A shell line that runs ``program`` with ``args`` (first), and how it was built."""

    command: str
    program: str
    args: tuple[str, ...]
    extra: tuple[str, ...] = ()  # more arguments after ``args``
    dynamic: bool = False  # xargs adds arguments known only at run time
    ansi: bool = False  # uses bash's $'…' quoting


def glob_escape(text: str) -> str:
    """``text`` as a glob that matches exactly it."""
    return re.sub(r"([*?\[])", r"[\1]", text)


def _bare(word: str) -> str:
    return "".join(c if c in SAFE else "\\" + c for c in word)


def _single(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


def _double(word: str) -> str:
    return '"' + re.sub(r'([\\"$`])', r"\\\1", word) + '"'


def _ansi(word: str, hexes: list[bool], *, dash_safe: bool) -> str:
    out = []
    for c, as_hex in zip(word, hexes, strict=False):
        if c == "\\":
            out.append("\\\\")
        elif c == "'":
            out.append("\\x27" if dash_safe else "\\'")
        else:
            out.append(f"\\x{ord(c):02x}" if as_hex and c.isalnum() else c)
    return "$'" + "".join(out) + "'"


@st.composite
def quoted(draw: st.DrawFn, word: str, *, ansi: bool = True, dash_safe: bool = False) -> str:
    """``word`` quoted so that the shell's value is exactly ``word``."""
    methods = ["bare", "single", "double", "pieces"] + (["ansi"] if ansi else [])
    method = draw(st.sampled_from(methods))
    if method == "pieces" and len(word) > 1:
        cuts = sorted(draw(st.sets(st.integers(1, len(word) - 1), max_size=3)))
        chunks = [word[a:b] for a, b in zip([0, *cuts], [*cuts, len(word)], strict=True)]
        out = []
        for chunk in chunks:
            out.append(draw(quoted(chunk, ansi=ansi, dash_safe=dash_safe)))
            out.append(draw(st.sampled_from(["", "", "''", '""'])))
        return "".join(out)
    if method == "ansi":
        hexes = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
        return _ansi(word, hexes, dash_safe=dash_safe)
    return {"bare": _bare, "single": _single, "double": _double}.get(method, _bare)(word)


def programs(forbidden: str = "") -> st.SearchStrategy[str]:
    """Program names that are no shell keyword, wrapper or shell, without ``forbidden``."""
    return st.from_regex(r"[a-z][a-z0-9_]{1,7}", fullmatch=True).filter(
        lambda p: p not in RESERVED and not set(p) & set(forbidden)
    )


def arguments(forbidden: str = "") -> st.SearchStrategy[str]:
    alphabet = "".join(c for c in SAFE + SPECIAL if c not in forbidden)
    return st.text(alphabet=alphabet, min_size=1, max_size=8)


@st.composite
def spelled(
    draw: st.DrawFn,
    *,
    forbidden: str = "",
    dash_safe: bool = False,
    runnable: bool = False,
    program_paths: tuple[str, ...] = tuple(PATHS),
) -> Spelled:
    """A line running one program with exact arguments, spelled at random (module doc)."""
    ansi = draw(st.booleans())
    program = draw(programs(forbidden))
    args = tuple(draw(st.lists(arguments(forbidden), max_size=3)))
    extra = tuple(draw(st.lists(arguments(forbidden), max_size=2)))
    chain = draw(st.lists(st.sampled_from(sorted(RUNNABLE if runnable else WRAPPERS)), max_size=3))
    if runnable:  # a shell builtin cannot follow a program that runs another program
        chain = [n for k, n in enumerate(chain) if k == 0 or n not in ("command", "exec")]
    words = [draw(st.sampled_from(["", "FOO=1", "A_B='x y'", "2>/dev/null"]))]
    for name in chain:
        options = draw(st.sampled_from((RUNNABLE if runnable else WRAPPERS)[name]))
        dirs = ["", "/usr/bin/"] if not runnable or os.path.exists(f"/usr/bin/{name}") else [""]
        where = draw(st.sampled_from(dirs))
        words.append(draw(quoted(where + name, ansi=ansi)))
        if name == "time" and not where:  # bash's keyword reads only a bare ``-p``
            words += options
            continue
        words += [draw(quoted(o, ansi=ansi, dash_safe=dash_safe)) for o in options]
    path = draw(st.sampled_from(program_paths))
    words.append(draw(quoted(path + program, ansi=ansi, dash_safe=dash_safe)))
    words += [draw(quoted(a, ansi=ansi, dash_safe=dash_safe)) for a in (*args, *extra)]
    words.append(draw(st.sampled_from(["", "", ">/dev/null", "2>&1"])))
    command = " ".join(w for w in words if w)
    nestings = RUNNABLE_NESTINGS if runnable else NESTINGS
    for depth, template in enumerate(draw(st.lists(st.sampled_from(nestings), max_size=3))):
        command = _nest(template.replace("G9EOF", f"G9EOF{depth}"), command)
    return Spelled(command, program, args, extra, dynamic="xargs" in chain, ansi=ansi)


def _nest(template: str, command: str) -> str:
    if command.startswith("("):  # `$((` opens arithmetic (dash has no fallback to `$( (`)
        template = template.replace("$({c}", "$( {c}")
    backticked = re.sub(r"([\\`$])", r"\\\1", command)
    return template.format(c=command, q=shlex.quote(command), dq=_double(command), bt=backticked)
