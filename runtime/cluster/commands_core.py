"""The pure rules of commands between nodes (docs/cluster.md, "Commands between nodes").

No trio and no database here (:mod:`.commands_sql` applies them in PostgreSQL,
:mod:`.commands` drives them): where a command goes, who may claim it, what happens to a
claim whose node died, how long a caller waits and polls, and the results as text.

The life of a command: the calling node inserts a row for the job's partition; the node
holding that partition *claims* it (one ``UPDATE`` — exactly one claimer wins), applies
it, and writes the result in the same row (``done_at``). A claimed row is never claimed
again while its claimer's lease is valid, so a command is applied at most once by a live
node. If the claimer died before writing the result, the partition's next owner takes the
claim over only for commands whose repetition changes nothing (:data:`REPEATABLE`:
cancel, pause, resume end in the same state; a repeat is refused by the job's state
machine as a ``Conflict``); a ``run`` is answered "effect unknown" instead of risking a
second fire. A caller that gets no answer in time withdraws a command nobody claimed yet
(so it is never applied after the caller said it failed) and waits a little longer for
one that is claimed.
"""

from __future__ import annotations

import json
from typing import Any

import attrs

__all__ = [
    "ABANDONED",
    "COMMANDS",
    "REPEATABLE",
    "Found",
    "WaitPolicy",
    "decode",
    "encode_error",
    "encode_ok",
    "route",
]

#: The commands a node sends to a job's owner: the engine's operations (actors/job/ports.Op)
#: and ``replace`` (``job.create`` with ``replace`` of a job the owner holds), and the news
#: of a dependency's end (``dependency_ended``, sent without a caller waiting), and
#: ``clear`` (delete finished jobs of one partition: ``params["ids"]``).
COMMANDS = frozenset(
    {"cancel", "pause", "resume", "run_now", "replace", "dependency_ended", "clear", "backfill"}
)
#: Commands whose second application leaves the job as the first did (see the docstring).
REPEATABLE = frozenset({"cancel", "pause", "resume", "dependency_ended", "clear"})


@attrs.frozen
class Found:
    """A job as the shared database knows it (resolution on any node)."""

    id: str
    name: str
    status: str
    owner: str


def route(*, indexed_here: bool, partition_held: bool) -> str:
    """``"local"`` when this node operates on the job itself (its directory indexes it, or
    it holds the job's partition: then a job it does not index is not found here either);
    ``"owner"`` when the command goes to the node holding the partition."""
    return "local" if indexed_here or partition_held else "owner"


@attrs.frozen
class WaitPolicy:
    """How a calling node waits for a command's result.

    The result usually arrives with a NOTIFY; the poll is the catch-up for a lost one:
    every ``first_poll`` seconds, doubling up to ``max_poll``. After ``limit`` seconds the
    caller withdraws an unclaimed command; a claimed one gets ``grace`` seconds more.
    """

    limit: float = 10.0
    grace: float = 5.0
    first_poll: float = 0.05
    max_poll: float = 0.5

    def poll_after(self, polls: int) -> float:
        """Seconds before catch-up read number ``polls`` (0-based)."""
        return min(self.max_poll, self.first_poll * 2.0 ** max(0, polls))

    def deadline(self, claimed: bool) -> float:
        """Seconds from sending until the caller gives up (see the class docstring)."""
        return self.limit + (self.grace if claimed else 0.0)


def encode_ok() -> str:
    """The result of a command that took effect."""
    return json.dumps({"ok": True})


def encode_error(code: int, message: str, data: dict[str, Any] | None = None) -> str:
    """The result of a command the owner refused (a JSON-RPC error object)."""
    return json.dumps({"error": {"code": code, "message": message, "data": data or {}}})


#: The result of a ``run`` whose claimer died before answering (see the docstring).
ABANDONED = encode_error(
    -32603,
    "the node that took this command stopped before answering; whether it took effect is"
    " unknown (gnomon jobs show and gnomon events tell)",
)


def decode(result: str) -> dict[str, Any] | None:
    """``None`` for success, else the JSON-RPC error object of a result.

    Raises:
        ValueError: text that is not a result of :func:`encode_ok` / :func:`encode_error`.
    """
    value = json.loads(result)
    if isinstance(value, dict) and value.get("ok") is True:
        return None
    if isinstance(value, dict) and isinstance(value.get("error"), dict):
        return dict(value["error"])
    raise ValueError(f"not a command result: {result!r}")
