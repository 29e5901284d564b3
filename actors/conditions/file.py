"""The ``file`` evaluator: one ``stat`` in a worker thread.

==========================================  ======  =========
outcome                                     value   transient
==========================================  ======  =========
exists (size, age as asked)                 true
missing, too small, changed too recently    false
permission denied, bad path                 error   no
other I/O error                             error   yes
==========================================  ======  =========

A relative path is resolved against the job's ``--cwd`` (else the daemon's working
directory); ``stable_for`` compares the file's mtime with the wall clock.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

import trio

from gnomon.actors.exec.interface import PollContext, Verdict
from gnomon.runtime.model.conditions import FileCondition
from gnomon.runtime.redact import Redactor

if TYPE_CHECKING:
    from gnomon.actors.exec.evaluator import ConditionCheck, EvalDeps

__all__ = ["FileEvaluator", "evaluator"]


def _error(summary: str, *, transient: bool, breaker: bool = False) -> Verdict:
    return Verdict(value=None, summary=summary, transient=transient, breaker_failure=breaker)


def _resolve(path: str, cwd: str | None) -> Path:
    """``path`` with ``~`` expanded, relative to ``cwd`` (else the working directory)."""
    resolved = Path(path).expanduser()
    return resolved if resolved.is_absolute() else Path(cwd or os.getcwd()) / resolved


class FileEvaluator:
    """Evaluates :class:`FileCondition`\\ s."""

    async def evaluate(self, cond: FileCondition, ctx: PollContext) -> Verdict:
        """One ``stat``, in a worker thread (a hung network filesystem cannot block trio)."""
        path = _resolve(cond.path, ctx.cwd)
        try:
            st = await trio.to_thread.run_sync(os.stat, path, abandon_on_cancel=True)
        except (FileNotFoundError, NotADirectoryError):
            return Verdict(value=False, summary=f"{path} does not exist")
        except PermissionError:
            return _error(f"{path}: permission denied", transient=False)
        except ValueError as exc:
            return _error(f"invalid path {cond.path!r}: {exc}", transient=False)
        except OSError as exc:
            return _error(f"{path}: {exc.strerror or exc}", transient=True)
        is_dir = (st.st_mode & 0o170000) == 0o040000
        if cond.min_size > 0 and is_dir:
            return Verdict(value=False, summary=f"{path} is a directory")
        if st.st_size < cond.min_size:
            return Verdict(value=False, summary=f"{path} has {st.st_size} of {cond.min_size} bytes")
        age = time.time() - st.st_mtime
        if cond.stable_for > 0 and age < cond.stable_for:
            return Verdict(
                value=False,
                summary=f"{path} changed {age:.1f}s ago (needs {cond.stable_for:g}s unchanged)",
            )
        return Verdict(value=True, summary=f"{path} exists ({st.st_size} bytes)")


def evaluator(deps: EvalDeps) -> ConditionCheck[FileCondition]:
    """The registry's hook."""
    files = FileEvaluator()

    async def check(cond: FileCondition, ctx: PollContext, redactor: Redactor) -> Verdict:
        return await files.evaluate(cond, ctx)

    return check
