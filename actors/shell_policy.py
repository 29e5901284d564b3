"""The shell policy of a home: ``policy.toml``, admission checks and fire-time re-checks.

``policy.toml`` (mode 0600, written atomically)::

    # deny wins over everything; allow patterns run; the rest asks (see docs/security.md)
    allow = ["terraform plan", "make *"]
    deny = ["rm -rf *", "curl * | sh"]
    builtin = true          # the built-in read-only allowlist (ls, cat, kubectl get, …)

The file is looked at (one ``stat``) at most once per :data:`RECHECK` second and re-read
when it changed (size, mtime or inode): a burst of admissions costs one ``stat``, not one
each. An edit through this object (``gnomon policy deny`` goes through the daemon's) is
seen at once, so such a deny stops the very next fire of a job admitted before it; an
edit by hand is seen within a second. An unreadable or malformed file *fails closed*:
every shell command is refused with a message naming the file, until it is fixed. The
pure rules are in :mod:`gnomon.actors.core.shell.rules`.

:meth:`ShellPolicy.check_job` is the admission hook (``Admission(policy=…)``): it checks
every command of a job — the shell action, shell and regex conditions, LLM context
commands anywhere in the condition tree, and the fallback. ``docker``/``k8s`` conditions
run argv lists that no shell ever parses, and agent/hook commands are the operator's own
configuration, so none of those is subject to the policy.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from gnomon.actors import policy_shared
from gnomon.actors.core.shell.rules import (
    Classification,
    PolicyRules,
    check,
    classify,
    validate_pattern,
)
from gnomon.runtime.errors import InvalidInput, Refused
from gnomon.runtime.model.job import JobSpec
from gnomon.runtime.model.parts import kind_of, parts

__all__ = ["POLICY_FILE", "RECHECK", "ShellCommand", "ShellPolicy", "shell_commands"]

log = logging.getLogger(__name__)
POLICY_FILE = "policy.toml"
RECHECK = 1.0  # seconds between two looks at the file
_HEADER = (
    "# gnomon shell policy (docs/security.md): deny patterns always win, allow patterns run,\n"
    "# everything else asks (refused unless the job says --i-know). Patterns are globs.\n"
)


@attrs.frozen
class ShellCommand:
    """One command of a job that a shell will parse, and whether it asks for a bypass."""

    command: str
    bypass: bool = False
    where: str = "action"


def shell_commands(spec: JobSpec) -> list[ShellCommand]:
    """Every shell command in ``spec`` — action, condition tree, fallback — as each part's
    kind shows it to the policy (its ``policy_commands`` hook)."""
    return [
        ShellCommand(c.command, c.bypass, where + c.note)
        for where, part in parts(spec)
        for c in kind_of(part).policy_commands(part)
    ]


@attrs.frozen
class _Loaded:
    signature: tuple[int, int, int] | None
    rules: PolicyRules | None
    error: str | None = None


class ShellPolicy:
    """The shell policy stored in ``path`` (normally ``<home>/policy.toml``).

    Args:
        allow_bypass: the operator's ``GNOMON_SHELL_ALLOW_BYPASS`` (config
            ``shell.allow_bypass``); only then does a job's ``bypass_safety`` count.
        clock: monotonic seconds (tests inject a fake one).
        recheck: the least time between two looks at the file.
    """

    def __init__(
        self,
        path: Path,
        *,
        allow_bypass: bool = False,
        clock: Callable[[], float] = time.monotonic,
        recheck: float = RECHECK,
    ) -> None:
        self.path = path
        self.allow_bypass = allow_bypass
        self._clock = clock
        self._recheck = recheck
        self._loaded = _Loaded(signature=(-1, -1, -1), rules=None)
        self._looked: float | None = None  # when the file was last looked at
        #: the cluster's rules when the daemon is clustered (actors/policy_shared.py):
        #: combined with the file's, and what ``gnomon policy`` edits instead of the file
        self.shared: PolicyRules | None = None
        #: moves with every change of the cluster's rules made through this node
        self.version = 0

    @classmethod
    def in_home(
        cls,
        home: Path,
        *,
        allow_bypass: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> ShellPolicy:
        return cls(home / POLICY_FILE, allow_bypass=allow_bypass, clock=clock)

    # --- reading -----------------------------------------------------------------------

    def rules(self) -> PolicyRules:
        """The current rules, re-read if the file changed (looked at once a second).

        Raises:
            Refused: the file is unreadable or malformed (``reason="policy"``).
        """
        loaded = self._reload()
        if loaded.rules is None:
            raise Refused(
                f"shell commands are refused: {loaded.error}",
                reason="policy",
                hint=f"fix or remove {self.path}",
            )
        return self._effective(loaded.rules)

    def _effective(self, local: PolicyRules) -> PolicyRules:
        return local if self.shared is None else policy_shared.combined(self.shared, local)

    def _reload(self) -> _Loaded:
        """The rules as last loaded, looking at the file again once :data:`RECHECK` has
        passed since the last look (an unreadable file is remembered as such, failing
        closed, until the next look)."""
        now = self._clock()
        if self._looked is not None and now - self._looked < self._recheck:
            return self._loaded
        self._looked = now
        try:
            st = os.stat(self.path)
            sig: tuple[int, int, int] | None = (st.st_mtime_ns, st.st_size, st.st_ino)
        except FileNotFoundError:
            sig = None
        except OSError as exc:
            self._loaded = _Loaded(
                signature=(-1, -1, -1), rules=None, error=f"cannot read {self.path}: {exc}"
            )
            return self._loaded
        if sig != self._loaded.signature:
            self._loaded = self._parse(sig)
            rules = self._loaded.rules
            if self.shared is not None and rules is not None and rules.allow:
                log.warning(
                    "%s: its allow patterns %s count only on a daemon alone; in a cluster "
                    "only the cluster's allow rules do (gnomon policy allow)",
                    self.path,
                    list(rules.allow),
                )
        return self._loaded

    def _forget(self) -> None:
        """Read the file again at the next check (it was just edited through this object)."""
        self._loaded = _Loaded(signature=(-1, -1, -1), rules=None)
        self._looked = None

    def _parse(self, sig: tuple[int, int, int] | None) -> _Loaded:
        if sig is None:
            return _Loaded(signature=None, rules=PolicyRules())
        try:
            with open(self.path, "rb") as f:
                data = tomllib.load(f)
            return _Loaded(signature=sig, rules=_rules_from(data, self.path))
        except (OSError, tomllib.TOMLDecodeError, InvalidInput) as exc:
            return _Loaded(signature=sig, rules=None, error=f"{self.path} is invalid: {exc}")

    def classify(self, command: str) -> Classification:
        """What the policy says about ``command`` (``gnomon policy check``)."""
        return classify(command, self.rules())

    def check(self, command: str, *, i_know: bool = False, bypass: bool = False) -> None:
        """Refuse ``command`` unless it may run now (fire time and admission).

        Raises:
            Refused: ``reason="policy"``; the message lists the ways out.
        """
        check(command, self.rules(), i_know=i_know, bypass=bypass, bypass_enabled=self.allow_bypass)

    def check_job(self, spec: JobSpec) -> None:
        """Admission: refuse ``spec`` if any of its shell commands may not run.

        Raises:
            Refused: for the first command refused, naming where it is in the job.
        """
        for cmd in shell_commands(spec):
            try:
                self.check(cmd.command, i_know=spec.i_know, bypass=cmd.bypass)
            except Refused as exc:
                raise Refused(
                    f"{cmd.where}: {exc.message}", reason=exc.reason, hint=exc.hint
                ) from None

    # --- editing (gnomon policy allow|deny|remove|list) --------------------------------------

    def listing(self) -> PolicyRules:
        """The rules as stored (``gnomon policy list``); in a cluster, the node's
        effective rules (the cluster's combined with the file's).

        Raises:
            InvalidInput: the file is malformed.
        """
        return self._effective(self._file_rules())

    def _file_rules(self) -> PolicyRules:
        loaded = self._reload()
        if loaded.rules is None:
            raise InvalidInput(loaded.error or f"{self.path} is invalid", token=str(self.path))
        return loaded.rules

    def allow(self, pattern: str) -> bool:
        """Add an allow pattern; ``False`` if it was there already.

        Raises:
            InvalidInput: empty pattern, or one that spans several commands.
        """
        return self._add("allow", validate_pattern(pattern, kind="allow"))

    def deny(self, pattern: str) -> bool:
        """Add a deny pattern; ``False`` if it was there already."""
        return self._add("deny", validate_pattern(pattern, kind="deny"))

    def remove(self, pattern: str) -> list[str]:
        """Remove ``pattern`` from both lists; returns the lists it was removed from."""
        text = " ".join(pattern.split())
        with self._editing() as rules:
            removed = [k for k in ("allow", "deny") if text in getattr(rules, k)]
            new = attrs.evolve(
                rules,
                allow=tuple(p for p in rules.allow if p != text),
                deny=tuple(p for p in rules.deny if p != text),
            )
            if removed:
                self._write(new)
        return removed

    def _add(self, kind: str, pattern: str) -> bool:
        with self._editing() as rules:
            current: tuple[str, ...] = getattr(rules, kind)
            if pattern in current:
                return False
            if kind == "allow":
                self._write(attrs.evolve(rules, allow=(*current, pattern)))
            else:
                self._write(attrs.evolve(rules, deny=(*current, pattern)))
        return True

    @contextlib.contextmanager
    def _editing(self) -> Iterator[PolicyRules]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._forget()
            yield self._file_rules()
        finally:
            self._forget()  # what was written counts from the next check on
            os.close(fd)

    def _write(self, rules: PolicyRules) -> None:
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(render(rules))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)


def _rules_from(data: dict[str, object], path: Path) -> PolicyRules:
    unknown = set(data) - {"allow", "deny", "builtin"}
    if unknown:
        raise InvalidInput(
            f"unknown key(s) {', '.join(sorted(unknown))} in {path}",
            accepted=("allow = [...]", "deny = [...]", "builtin = true|false"),
        )
    lists = {}
    for key in ("allow", "deny"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise InvalidInput(f"{key} in {path} must be a list of strings")
        lists[key] = tuple(validate_pattern(v, kind=key) for v in value)
    builtin = data.get("builtin", True)
    if not isinstance(builtin, bool):
        raise InvalidInput(f"builtin in {path} must be true or false")
    return PolicyRules(allow=lists["allow"], deny=lists["deny"], builtin=builtin)


def render(rules: PolicyRules) -> str:
    """``rules`` as ``policy.toml`` text (JSON string escapes are valid TOML)."""

    def array(items: tuple[str, ...]) -> str:
        if not items:
            return "[]"
        body = "".join(f"  {json.dumps(p, ensure_ascii=False)},\n" for p in items)
        return f"[\n{body}]"

    builtin = "" if rules.builtin else "builtin = false\n"
    return f"{_HEADER}allow = {array(rules.allow)}\ndeny = {array(rules.deny)}\n{builtin}"
