"""docs/protocol.md is generated from the protocol table and must not go stale."""

from __future__ import annotations

from pathlib import Path

from gnomon.runtime.gateway import protocol_doc
from gnomon.runtime.protocol import METHODS

DOC = Path(__file__).parent.parent / "docs" / "protocol.md"


def test_protocol_doc_is_current() -> None:
    """The committed docs/protocol.md equals what render() produces now."""
    assert DOC.read_text() == protocol_doc.render(), (
        f"docs/protocol.md is stale; regenerate it with: {protocol_doc.REGENERATE}"
    )


def test_every_method_and_error_code_is_documented() -> None:
    """Each method has a table row and a section; each error code has a row."""
    text = protocol_doc.render()
    for name in METHODS:
        assert f"| [`{name}`](#" in text
        assert f"\n### {name}\n" in text
    for code, _, _ in protocol_doc.ERROR_CODES:
        assert f"\n| {code} |" in text


def test_every_linked_type_has_a_section() -> None:
    """Every [`Type`](#type) link in the document points at a heading that exists."""
    text = protocol_doc.render()
    headings = {
        line[4:].replace(".", "").lower() for line in text.splitlines() if line.startswith("### ")
    }
    links = {part.split(")", 1)[0] for part in text.split("](#")[1:]}
    assert links <= headings, sorted(links - headings)
