"""docs/asyncapi.json against the code: current, every subject the code names, the command's
schema as strict as the contract, and the headers every event carries."""

import ast
import json
from pathlib import Path

from as2bus.contracts import SEND_SUBJECT, SendRequest, registered_events
from as2bus.contracts.certs import KEY_MATERIAL_SUBJECT
from as2bus.contracts.credentials import CREDENTIALS_SUBJECT
from as2bus.contracts.notifications import SETUP_SUBJECT
from as2bus.shared.asyncapi import (
    COMMAND_HEADERS,
    SEND_REQUEST_SCHEMA,
    build_asyncapi,
    render,
    render_send_request_schema,
)
from as2bus.shared.bus.publish import EVENT_HEADERS

ROOT = Path(__file__).parents[3]
DOC = ROOT / "docs" / "asyncapi.json"


def test_the_committed_documents_are_current() -> None:
    assert DOC.read_text() == render(), "docs/asyncapi.json is stale: run `make asyncapi`"
    schema = (DOC.parent / SEND_REQUEST_SCHEMA).read_text()
    assert schema == render_send_request_schema(), f"docs/{SEND_REQUEST_SCHEMA} is stale"


def test_every_event_command_and_request_reply_is_documented_on_its_subject() -> None:
    addresses = {c["address"] for c in build_asyncapi()["channels"].values()}
    events = {e.subject for e in registered_events()}
    rpcs = {SEND_SUBJECT, KEY_MATERIAL_SUBJECT, CREDENTIALS_SUBJECT, SETUP_SUBJECT}
    assert addresses == events | rpcs


def _subject_literals() -> set[str]:
    """Every string literal in our runtime code that is a whole bus subject."""
    found = set()
    for source in ROOT.glob("*/**/src/**/*.py"):
        if ".venv" in source.parts:
            continue
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                value = node.value
                if value.startswith(("as2.cmd.", "as2.rpc.", "as2.evt.")):
                    found.add(value)
    return found


def test_no_subject_in_the_code_is_missing_from_the_document() -> None:
    addresses = {c["address"] for c in build_asyncapi()["channels"].values()}
    literals = _subject_literals()
    assert SEND_SUBJECT in literals  # the scan sees the code
    wildcards = {s for s in literals if s.endswith((">", "*", "."))}
    assert literals - wildcards <= addresses


def test_the_send_command_is_strict_and_says_its_defaults() -> None:
    schemas = build_asyncapi()["components"]["schemas"]
    send = schemas["SendRequest"]
    assert send["additionalProperties"] is False
    assert set(send["required"]) == {"request_id", "station", "partner"}
    assert send["properties"]["content_type"]["default"] == "application/edi-x12"
    # No subject: the partner's default subject, else "AS2 Message", as the field says.
    assert send["properties"]["subject"]["default"] is None
    assert "the partner's default subject" in send["properties"]["subject"]["description"]
    assert "'AS2 Message'" in send["properties"]["subject"]["description"]
    assert schemas["SendOverrides"]["additionalProperties"] is False
    assert all(p.get("description") for p in send["properties"].values())
    assert set(send["properties"]) == set(SendRequest.model_fields)


def test_every_message_documents_its_headers() -> None:
    messages = build_asyncapi()["components"]["messages"]
    for title, message in messages.items():
        headers = message["headers"]
        if title.endswith(":Publisher:Message"):
            required = set(EVENT_HEADERS)
        elif title.startswith("SendRequest:"):
            required = set(COMMAND_HEADERS)
        else:  # a request-reply's request
            required = set()
        # ... and the trace context's, which only a tracing publisher sets
        assert set(headers["properties"]) == required | {"traceparent", "tracestate"}, title
        assert set(headers.get("required", [])) == required, title
    assert any(t.startswith("SendRequest:") for t in messages)
    assert any(t.startswith("KeyMaterial:") for t in messages)


def test_the_send_request_schema_file_is_valid_json_schema_of_the_contract() -> None:
    schema = json.loads((DOC.parent / SEND_REQUEST_SCHEMA).read_text())
    assert schema["title"] == "SendRequest"
    assert schema["additionalProperties"] is False
