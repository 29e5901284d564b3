"""docs/openrpc.json: generated from the method table, current, and a valid OpenRPC
document (the meta-schema vendored under tests/support/openrpc/)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry
from referencing.jsonschema import DRAFT7

from gnomon.runtime.gateway import openrpc
from gnomon.runtime.protocol import METHODS

ROOT = Path(__file__).parent.parent
DOC = ROOT / "docs" / "openrpc.json"
META = ROOT / "tests" / "support" / "openrpc"


def validator() -> jsonschema.Draft7Validator:
    schema = json.loads((META / "openrpc-meta-schema.json").read_text())
    tools = json.loads((META / "json-schema-tools-meta-schema.json").read_text())
    registry: Registry[Any] = Registry().with_resource(
        "https://meta.json-schema.tools", DRAFT7.create_resource(tools)
    )
    return jsonschema.Draft7Validator(schema, registry=registry)


def test_the_committed_document_is_current() -> None:
    """docs/openrpc.json equals what the generator produces now."""
    assert DOC.read_text() == openrpc.render(), (
        f"docs/openrpc.json is stale; regenerate it with: {openrpc.REGENERATE}"
    )


def test_the_document_is_valid_openrpc() -> None:
    """No meta-schema error; and the checker does see a broken document."""
    check = validator()
    errors = [f"{e.json_path}: {e.message}" for e in check.iter_errors(openrpc.document())]
    assert errors == []
    broken = openrpc.document()
    del broken["methods"][0]["params"]
    assert not check.is_valid(broken)


def test_every_method_is_there_and_every_reference_resolves() -> None:
    """The table's methods (and $/cancelRequest); each component reference names a
    schema of components.schemas."""
    doc = openrpc.document()
    assert [m["name"] for m in doc["methods"]] == [*METHODS, "$/cancelRequest"]
    text = json.dumps(doc)
    refs = {part.split('"', 1)[0] for part in text.split('"#/components/schemas/')[1:]}
    assert refs
    assert refs <= set(doc["components"]["schemas"])
    assert "#/$defs/" not in text
