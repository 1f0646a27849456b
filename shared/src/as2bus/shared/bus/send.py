"""Publishing send requests: the helper other systems (and ``as2bus send``) use.

The request id is the ``Nats-Msg-Id`` (itself, nothing added: one rule for every language), so
publishing the same request twice within the dedup window stores it once; outbound-svc also
recognises a request id it has accepted before, so the partner gets one message however often
a request is repeated (and a different body under a used id is refused: REQUEST_ID_REUSED).
"""

from __future__ import annotations

import base64
import uuid

from nats.aio.client import Client
from nats.js.api import PubAck

from as2bus.shared.bus.documents import DocumentStore, documents_bucket
from as2bus.shared.contracts import MAX_INLINE_BYTES, SEND_SUBJECT, SendOverrides, SendRequest
from as2bus.shared.subjects import COMMANDS_STREAM


async def publish_send_request(client: Client, request: SendRequest) -> PubAck:
    js = client.jetstream()
    return await js.publish(
        SEND_SUBJECT,
        request.model_dump_json().encode(),
        stream=COMMANDS_STREAM,
        headers={"Nats-Msg-Id": request.request_id, "content-type": "application/json"},
    )


async def send_document(
    client: Client,
    data: bytes,
    *,
    station: str,
    partner: str,
    filename: str | None = None,
    content_type: str = "application/edi-x12",
    subject: str = "AS2 Message",
    request_id: str | None = None,
    overrides: SendOverrides | None = None,
) -> SendRequest:
    """Store the document (inline when small), publish the request, return it."""
    fields = {
        "request_id": request_id or str(uuid.uuid4()),
        "station": station,
        "partner": partner,
        "filename": filename,
        "content_type": content_type,
        "subject": subject,
        "overrides": overrides,
    }
    if len(data) <= MAX_INLINE_BYTES:
        request = SendRequest(**fields, inline_base64=base64.b64encode(data).decode())
    else:
        js = client.jetstream()
        store = DocumentStore(await documents_bucket(js), js)
        ref = await store.put(f"out/{fields['request_id']}", data)
        request = SendRequest(**fields, document=ref)
    await publish_send_request(client, request)
    return request
