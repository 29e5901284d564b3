"""Jobs owned by another node of a cluster (docs/cluster.md, "What is global").

:class:`RemoteJobs` is what the methods need of the cluster's command relay
(``runtime/cluster/commands.py``): find a job in the shared database, tell whether this
node holds it, and have its owner apply a command. :func:`apply_command` is the owner's
side: it applies a command another node sent through this node's engine.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, cast

from gnomon.actors.directory import JobEntry
from gnomon.actors.job.ports import JobCommand, Op
from gnomon.runtime.cluster.commands_core import COMMANDS, Found, encode_error, encode_ok
from gnomon.runtime.errors import Conflict, GnomonError, NotFound, wire_data
from gnomon.runtime.model.enums import JobStatus, OwnerKind
from gnomon.runtime.model.job import JobSpec, Owner
from gnomon.runtime.model.wire import from_json
from gnomon.runtime.store import UnitRejected

if TYPE_CHECKING:
    from gnomon.actors.tree import EngineTree


class Elsewhere(Protocol):
    """What the engine sees of other nodes' jobs (admission, the directory)."""

    def elsewhere(self) -> int:
        """Live jobs other nodes own, as last counted (``limits.max_jobs`` holds for the
        whole cluster)."""
        ...

    def resolved(self, ref: str) -> str | None:
        """The id of another node's job ``ref`` named in a recent :meth:`find`."""
        ...

    def seen(self, job_id: str) -> Found | None:
        """Another node's job as a recent :meth:`find` read it."""
        ...

    def dependency_ended(self, job_id: str, status: str) -> None:
        """Queue ``job_id``'s final status for its dependents on other nodes."""
        ...


class Alone:
    """:class:`Elsewhere` of a daemon that is not in a cluster: nothing is elsewhere."""

    def elsewhere(self) -> int:
        return 0

    def resolved(self, ref: str) -> str | None:
        return None

    def seen(self, job_id: str) -> Found | None:
        return None

    def dependency_ended(self, job_id: str, status: str) -> None:
        return None


class RemoteJobs(Elsewhere, Protocol):
    """The cluster's view of every node's jobs (``CommandRelay``)."""

    def here(self, job_id: str) -> bool:
        """Whether this node holds the job's partition now."""
        ...

    def known_owner(self, job_id: str) -> str | None:
        """The job's owner as a recent :meth:`find` read it."""
        ...

    async def find(self, ref: str) -> Found:
        """The job ``ref`` names in the shared database (raises ``NotFound``,
        ``InvalidInput`` for an ambiguous prefix)."""
        ...

    async def command(self, job_id: str, command: str, params: dict[str, Any]) -> None:
        """Have the job's owner apply ``command``; raises its refusal or ``AskTimeout``."""
        ...

    async def clear(self, job_ids: list[str]) -> None:
        """Have the owners delete these finished jobs (``job.clear``)."""
        ...


def seen_entry(remote: Elsewhere, job_id: str) -> JobEntry | None:
    """Another node's job as the directory describes it (``None``: not seen)."""
    found = remote.seen(job_id)
    if found is None:
        return None
    return JobEntry(id=found.id, name=found.name, status=JobStatus(found.status), owner=found.owner)


async def apply_command(
    tree: EngineTree, job_id: str, command: str, params: dict[str, Any]
) -> str | None:
    """Apply a command another node sent for ``job_id``; the encoded result, or ``None``
    when this node cannot apply it now (the job is live but not indexed here yet, or the
    write was fenced: its partition moved). Never raises."""
    try:
        if command not in COMMANDS:
            raise Conflict(f"unknown command {command!r} for job {job_id}")
        if tree.directory.get(job_id) is None and command != "clear":
            state = await tree.engine.persistence.load(job_id)
            if state is None:
                raise NotFound(f"no job {job_id!r}")
            if state.status.terminal:
                verb = command.replace("_now", "")
                raise Conflict(f"cannot {verb} job {state.spec.name}: it is {state.status.value}")
            return None
        if command == "clear":
            await tree.engine.clear([str(i) for i in params["ids"]])
        elif command == "replace":
            await replace(tree, params)
        elif command == "backfill":
            slot = datetime.fromisoformat(str(params["slot"]))
            await tree.engine.command(job_id, "backfill", slot=slot)
        elif command == "dependency_ended":
            await tree.directory.ask(
                job_id,
                lambda: JobCommand(
                    op="dependency_ended",
                    dep_id=str(params["dep_id"]),
                    dep_status=JobStatus(params["dep_status"]),
                ),
            )
        else:
            reason = str(params.get("reason", ""))
            await tree.engine.command(job_id, cast("Op", command), reason=reason)
    except UnitRejected:
        return None
    except GnomonError as exc:
        return encode_error(exc.rpc_code, exc.message, wire_data(exc))
    return encode_ok()


async def replace(tree: EngineTree, params: dict[str, Any]) -> None:
    """``--replace`` sent by another node: the engine replaces the live job of the spec's
    name in place, as if the call had come to this node (admission and owner check
    included).

    Raises:
        InvalidInput, Conflict, Refused: as ``Engine.create``.
    """
    kind, _, ident = str(params["owner"]).partition(":")
    expires = params.get("expires_at")
    await tree.engine.create(
        from_json(str(params["spec"]), JobSpec),
        Owner(kind=OwnerKind(kind), id=ident),
        replace=True,
        expires_at=None if expires is None else datetime.fromisoformat(str(expires)),
    )
