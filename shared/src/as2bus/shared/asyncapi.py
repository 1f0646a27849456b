"""The AsyncAPI document of the bus, generated from the contracts.

Every registered event becomes a documented publication on its subject, with its JSON schema
and its headers; the send command and the two request-replies are documented as what the
services consume. ``python -m as2bus.shared.asyncapi docs/asyncapi.json`` writes it; tests
check that it is current and that it names every subject the code uses.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from faststream.nats import NatsBroker
from faststream.specification import AsyncAPI

from as2bus.contracts import (
    DOCUMENTS_BUCKET,
    MAX_INLINE_BYTES,
    SEND_SUBJECT,
    KeyMaterialReply,
    KeyMaterialRequest,
    SendRequest,
    registered_events,
)
from as2bus.contracts.certs import KEY_MATERIAL_SUBJECT
from as2bus.contracts.credentials import (
    CREDENTIALS_SUBJECT,
    CredentialsReply,
    CredentialsRequest,
)
from as2bus.contracts.notifications import (
    SETUP_SUBJECT,
    NotificationSetupReply,
    NotificationSetupRequest,
)
from as2bus.contracts.subjects import COMMANDS_STREAM, EVENTS_STREAM
from as2bus.shared.bus.publish import EVENT_HEADERS
from as2bus.shared.tracing import TRACE_HEADERS

DESCRIPTION = " ".join(
    [
        "The bus of the as2bus AS2 gateway (a guide: docs/integrating.md).",
        f"Your systems publish SendRequest commands on {SEND_SUBJECT} (JetStream stream",
        f"{COMMANDS_STREAM}, which takes no other subject) and consume events from the",
        f"stream {EVENTS_STREAM}. Every event carries the envelope fields event_id,",
        "event_type, occurred_at, correlation_id and schema_version, and the headers",
        "Nats-Msg-Id (= event_id), As2bus-Event-Type (= event_type), correlation_id (= the",
        "payload's), content-type and Nats-Expected-Stream. Any message (event, command,",
        "request) may also carry the W3C trace context (traceparent, tracestate). Every",
        "accepted send request ends in exactly one MessageDelivered or MessageFailed; a",
        "refused one gets a MessageRejected (direction outbound) with its request_id within a",
        "second. Events are tolerant (ignore fields you do not know); commands are strict (an",
        "unknown field is a refusal).",
    ]
)

SEND_DESCRIPTION = (
    "Send one document to a partner; consumed once by outbound-svc. Publish it to JetStream "
    "with the header Nats-Msg-Id set to the request_id itself (a repeat inside the stream's "
    "2-minute dedup window is dropped; outbound-svc also recognises a request_id it accepted "
    "before). Documents up to " + str(MAX_INLINE_BYTES) + " bytes may go inline as base64; "
    "larger ones are first stored in the object store bucket " + DOCUMENTS_BUCKET + " under "
    "a name of your choice (e.g. <your-system>/<request_id>) and referenced as document: "
    "{bucket, name, size, sha256 as 64 lowercase hex digits}. outbound-svc checks that the "
    "object is there with that size and SHA-256 before accepting the request."
)

#: The headers of a send command.
COMMAND_HEADERS = {
    "Nats-Msg-Id": "The request_id, exactly (no prefix)",
    "content-type": "application/json",
}


def build_asyncapi() -> dict[str, Any]:
    broker = NatsBroker("nats://as2bus-nats:4222")  # never connected: a container for the spec
    for event in sorted(registered_events(), key=lambda e: e.subject):
        broker.publisher(
            event.subject,
            title=f"{event.__name__}:Publisher",
            description=event.summary,
            schema=event,
        )
    _document_commands(broker)
    _document_key_material(broker)
    _document_credentials(broker)
    _document_notification_setup(broker)
    spec = AsyncAPI(broker, title="as2bus bus", version="1.4.0", description=DESCRIPTION)
    document: dict[str, Any] = spec.to_specification().to_jsonable()
    _add_headers(document)
    return document


def _headers_schema(headers: dict[str, str]) -> dict[str, Any]:
    """``headers`` required, the trace context's (``TRACE_HEADERS``) optional."""
    described = {**headers, **TRACE_HEADERS}
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {
            name: {"type": "string", "description": text} for name, text in described.items()
        },
    }
    if headers:
        schema["required"] = sorted(headers)
    return schema


def _add_headers(document: dict[str, Any]) -> None:
    """faststream documents payloads only; the headers are part of the contract too."""
    for title, message in document["components"]["messages"].items():
        if title.startswith("SendRequest:"):
            message["headers"] = _headers_schema(COMMAND_HEADERS)
        elif title.endswith(":Publisher:Message"):
            message["headers"] = _headers_schema(EVENT_HEADERS)
        else:  # a request-reply's request: faststream's own headers, and the trace's
            message["headers"] = _headers_schema({})


def _document_commands(broker: NatsBroker) -> None:
    @broker.subscriber(
        SEND_SUBJECT,
        stream=COMMANDS_STREAM,
        title="SendRequest:Command",
        description=SEND_DESCRIPTION,
    )
    async def send(request: SendRequest) -> None:
        raise NotImplementedError  # documentation only; outbound-svc has the real consumer


def _document_key_material(broker: NatsBroker) -> None:
    """The one request-reply on the bus: inbound/outbound ask cert-svc for key material."""

    @broker.subscriber(
        KEY_MATERIAL_SUBJECT,
        queue="cert-svc",
        title="KeyMaterial:Request",
        description="Request-reply, served by cert-svc to inbound-svc and outbound-svc only "
        "(NATS permissions). Private keys in the reply are sealed with the master key.",
    )
    async def key_material(request: KeyMaterialRequest) -> KeyMaterialReply:
        raise NotImplementedError  # documentation only; cert-svc has the real handler


def _document_credentials(broker: NatsBroker) -> None:
    @broker.subscriber(
        CREDENTIALS_SUBJECT,
        queue="config-svc",
        title="PartnerCredentials:Request",
        description="Request-reply, served by config-svc to outbound-svc only (NATS "
        "permissions): a partner's HTTP credentials, still sealed with the master key.",
    )
    async def credentials(request: CredentialsRequest) -> CredentialsReply:
        raise NotImplementedError  # documentation only; config-svc has the real handler


def _document_notification_setup(broker: NatsBroker) -> None:
    @broker.subscriber(
        SETUP_SUBJECT,
        queue="config-svc",
        title="NotificationSetup:Request",
        description="Request-reply, served by config-svc to notify-svc only (NATS permissions): "
        "every notification rule and channel, the channels' secrets still sealed.",
    )
    async def notification_setup(request: NotificationSetupRequest) -> NotificationSetupReply:
        raise NotImplementedError  # documentation only; config-svc has the real handler


def render() -> str:
    return json.dumps(build_asyncapi(), indent=2, sort_keys=True) + "\n"


#: Written beside the AsyncAPI document: the send command alone, for validators.
SEND_REQUEST_SCHEMA = "send-request.schema.json"


def render_send_request_schema() -> str:
    schema = SendRequest.model_json_schema()
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/asyncapi.json")
    target.write_text(render())
    (target.parent / SEND_REQUEST_SCHEMA).write_text(render_send_request_schema())
    print(f"wrote {target} and {target.parent / SEND_REQUEST_SCHEMA}")
