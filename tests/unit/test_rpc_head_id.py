"""``rpc.head_id``: the id of a request found in the head of a frame too large to parse
whole — the top-level ``id`` when the head holds all of it, else ``None``; never another
value, never an exception, whatever the text."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from gnomon.runtime.gateway.rpc import head_id

ids = st.integers() | st.text(max_size=12) | st.none() | st.booleans() | st.floats()
scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(
            st.sampled_from(["id", "x", "params", '"', "\\"]) | st.text(max_size=4),
            kids,
            max_size=4,
        )
    ),
    max_leaves=15,
)
objects = st.dictionaries(st.sampled_from(["jsonrpc", "method", "params", "x", "i\\d"]), values)


def expected(obj: dict[str, Any]) -> Any:
    ident = obj.get("id")
    return ident if isinstance(ident, str | int) and not isinstance(ident, bool) else None


@given(obj=objects, ident=ids, at=st.integers(0, 5), compact=st.booleans())
def test_the_top_level_id_of_a_whole_object(
    obj: dict[str, Any], ident: Any, at: int, compact: bool
) -> None:
    """Read whole, an object's top-level id is found wherever it stands among the keys
    (ids nested in other values are not taken for it); a bool, float or null id is None."""
    items = list(obj.items())
    items.insert(min(at, len(items)), ("id", ident))
    whole = dict(items)
    text = json.dumps(whole, separators=(",", ":") if compact else None)
    assert head_id(text, limit=len(text)) == expected(whole)


@given(obj=objects, ident=ids, cut=st.integers(0, 400))
def test_a_head_finds_the_id_or_nothing(obj: dict[str, Any], ident: Any, cut: int) -> None:
    """Cut anywhere, the head gives the whole object's id or None — never a part of it (a
    number cut short, a string without its end)."""
    text = json.dumps({**obj, "id": ident})
    found = head_id(text, limit=cut)
    assert found is None or found == expected({"id": ident})


@given(text=st.text(max_size=300))
def test_any_text_gives_an_id_or_none(text: str) -> None:
    """Arbitrary text never raises and gives a string, an integer or None."""
    found = head_id(text)
    assert found is None or (isinstance(found, str | int) and not isinstance(found, bool))


def test_a_client_request_and_the_forms_with_no_id() -> None:
    """The CLI's request (id first) is found in its head; a batch, a non-object and a
    request without an id give None."""
    request = {"jsonrpc": "2.0", "id": 12, "method": "job.create_many", "params": {"a": "b" * 9000}}
    assert head_id(json.dumps(request)) == 12
    assert head_id(json.dumps([request])) is None
    assert head_id('"id": 3') is None
    assert head_id('{"params": {"id": 3}, "method": "x"}') is None
    assert head_id('{"i\\u0064" : "s\\"x" }') == 's"x'
