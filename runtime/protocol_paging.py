"""How lists answer in pages: the page limits and the bytes one answer may take
(docs/protocol.md)."""

from __future__ import annotations

from typing import Any

import attrs

#: Lists answer in pages: at most ``limit`` items, and never more than fit in one frame of
#: ``gateway.max_message_bytes`` (at most 1 MiB); ``next_cursor`` says where to go on.
PAGE_LIMIT = 500
MAX_PAGE_LIMIT = 5000
MAX_REPLY_BYTES = 1 << 20  # clients read at least this much in one frame (the CLI: 16 MiB)
ENVELOPE_BYTES = 512  # room for the JSON-RPC envelope and a page's other fields


def reply_budget(max_message_bytes: int) -> int:
    """The bytes the items of one answer may take: ``gateway.max_message_bytes`` but at
    most :data:`MAX_REPLY_BYTES`, less the envelope."""
    return max(1, min(max_message_bytes, MAX_REPLY_BYTES) - ENVELOPE_BYTES)


def page_limit(default: int) -> Any:
    """An attrs field for a page's ``limit``: ``default``, 1 to :data:`MAX_PAGE_LIMIT`."""
    return attrs.field(
        default=default, validator=[attrs.validators.ge(1), attrs.validators.le(MAX_PAGE_LIMIT)]
    )
