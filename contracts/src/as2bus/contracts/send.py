"""Publishing send requests: the helper other systems (and ``as2bus send``) use. It needs this
package and nats-py only (``pip install as2bus-contracts``, see the README).

The request id is the ``Nats-Msg-Id`` (itself, nothing added: one rule for every language), so
publishing the same request twice within the dedup window stores it once; outbound-svc also
recognises a request id it has accepted before, so the partner gets one message however often
a request is repeated (and a different body under a used id is refused: REQUEST_ID_REUSED).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.js.api import PubAck
from nats.js.object_store import ObjectStore

from as2bus.contracts.documents import documents_bucket, put_document
from as2bus.contracts.outbound import (
    MAX_INLINE_BYTES,
    SEND_SUBJECT,
    SendAttachment,
    SendOverrides,
    SendRequest,
)
from as2bus.contracts.subjects import COMMANDS_STREAM


async def publish_send_request(client: Client, request: SendRequest) -> PubAck:
    js = client.jetstream()
    return await js.publish(
        SEND_SUBJECT,
        request.model_dump_json().encode(),
        stream=COMMANDS_STREAM,
        headers={"Nats-Msg-Id": request.request_id, "content-type": "application/json"},
    )


@dataclass(frozen=True)
class Attachment:
    """One more document of the same message (RFC 6362 multiple attachments)."""

    data: bytes
    filename: str | None = None
    content_type: str = "application/edi-x12"


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
    attachments: Sequence[Attachment] = (),
) -> SendRequest:
    """Store the documents (inline while they fit the inline allowance together), publish the
    request, return it. ``attachments``: more documents in the same message, after ``data``."""
    request_id = request_id or str(uuid.uuid4())
    bucket: ObjectStore | None = None
    room = MAX_INLINE_BYTES

    async def document(name: str, content: bytes) -> dict[str, Any]:
        nonlocal bucket, room
        if len(content) <= room:
            room -= len(content)
            return {"inline_base64": base64.b64encode(content).decode()}
        if bucket is None:
            bucket = await documents_bucket(client.jetstream())
        return {"document": await put_document(bucket, name, content)}

    first = await document(f"out/{request_id}", data)
    extra = [
        SendAttachment(
            filename=a.filename,
            content_type=a.content_type,
            **await document(f"out/{request_id}/{i}", a.data),
        )
        for i, a in enumerate(attachments, start=1)
    ]
    request = SendRequest(
        request_id=request_id,
        station=station,
        partner=partner,
        filename=filename,
        content_type=content_type,
        subject=subject,
        overrides=overrides,
        attachments=extra,
        **first,
    )
    await publish_send_request(client, request)
    return request
