"""Helpers shared by the executors: results, run environments, job processes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import attrs
import trio

from gnomon.actors.exec.interface import ActionResult, OutputTap, RunContext, SpawnHook
from gnomon.actors.exec.settings import ExecSettings
from gnomon.runtime.model.enums import Outcome
from gnomon.runtime.redact import Redactor
from gnomon.runtime.spawn import ProcResult, SpawnFailed, TailBuffer, run_group

__all__ = [
    "ProcOutcome",
    "describe_exit",
    "failure",
    "process_result",
    "run_env",
    "run_process",
]


def failure(
    error: str,
    *,
    transient: bool = False,
    breaker: bool = False,
    output: str = "",
    outcome: Outcome = Outcome.FAILED,
    exit_code: int | None = None,
    pid: int | None = None,
    pgid: int | None = None,
    retry_after: float | None = None,
    tokens: int | None = None,
    cost_usd: float | None = None,
) -> ActionResult:
    """A failed :class:`ActionResult` (``error`` must already be redacted)."""
    return ActionResult(
        outcome=outcome,
        error=error,
        output=output,
        transient=transient,
        breaker_failure=breaker,
        exit_code=exit_code,
        pid=pid,
        pgid=pgid,
        retry_after=retry_after,
        tokens=tokens,
        cost_usd=cost_usd,
    )


def run_env(ctx: RunContext) -> dict[str, str]:
    """The variables gnomon sets for every child of a run (the job's env comes on top)."""
    return {
        "GNOMON_JOB_ID": ctx.job_id,
        "GNOMON_JOB_NAME": ctx.job_name,
        "GNOMON_RUN_ID": ctx.run_id,
        "GNOMON_FIRE_TIME": ctx.fire_time.isoformat(),
        "GNOMON_ATTEMPT": str(ctx.attempt),
    }


def describe_exit(code: int, signal: int | None) -> str:
    """``exit 3`` or ``killed by signal 9``."""
    return f"killed by signal {signal}" if signal is not None else f"exit {code}"


@attrs.frozen(kw_only=True)
class ProcOutcome:
    """A job process's end: its result (``None`` if it timed out or failed to start), its
    redacted output tail, and the error when it did not run to its end."""

    result: ProcResult | None
    output: str
    error: str = ""
    timed_out: bool = False
    spawn_missing: bool = False


async def run_process(
    argv: Sequence[str],
    *,
    settings: ExecSettings,
    redactor: Redactor,
    env: Mapping[str, str],
    cwd: str | None,
    cap: int,
    timeout: float | None = None,
    stdin: bytes | None = None,
    on_spawn: SpawnHook | None = None,
    tap: OutputTap | None = None,
) -> ProcOutcome:
    """Run ``argv`` as a job process (own group, merged output tail of ``cap`` bytes).

    ``timeout`` (seconds) kills the group when it passes and reports ``timed_out``.
    Cancellation from outside kills the group and propagates; the redacted output so far
    stays readable through ``tap``.
    """
    buf = TailBuffer(cap + redactor.longest)
    if tap is not None:
        tap.read = lambda: redactor.tail(buf.data, cap, truncated=buf.truncated)
    result: ProcResult | None = None
    with trio.move_on_after(timeout if timeout is not None else float("inf")):
        try:
            result = await run_group(
                argv,
                env=env,
                cwd=cwd,
                stdin=stdin,
                on_spawn=on_spawn,
                keep=cap + redactor.longest,
                grace=settings.kill_grace,
                out=buf,
            )
        except SpawnFailed as exc:
            return ProcOutcome(
                result=None,
                output="",
                error=redactor.redact(exc.message),
                spawn_missing=exc.missing,
            )
    output = redactor.tail(buf.data, cap, truncated=buf.truncated)
    if result is None:
        return ProcOutcome(
            result=None,
            output=output,
            error=f"timed out after {timeout:g}s; process group killed",
            timed_out=True,
        )
    return ProcOutcome(result=result, output=output)


def process_result(done: ProcOutcome) -> ActionResult:
    """The result of a finished (or timed-out) operator command."""
    if done.result is None:
        return failure(
            done.error,
            output=done.output,
            outcome=Outcome.TIMEOUT if done.timed_out else Outcome.FAILED,
            transient=done.timed_out,
            breaker=done.timed_out,
        )
    res = done.result
    if res.exit_code == 0:
        return ActionResult(
            outcome=Outcome.SUCCESS, output=done.output, exit_code=0, pid=res.pid, pgid=res.pgid
        )
    return failure(
        describe_exit(res.exit_code, res.signal),
        output=done.output,
        breaker=True,
        exit_code=res.exit_code,
        pid=res.pid,
        pgid=res.pgid,
    )
