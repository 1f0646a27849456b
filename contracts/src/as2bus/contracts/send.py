"""Publishing send requests: the helper other systems (and ``as2bus send``) use. It needs this
package and nats-py only (``pip install as2bus-contracts``, see the README).

The request id is the ``Nats-Msg-Id`` (itself, nothing added: one rule for every language), so
publishing the same request twice within the dedup window stores it once; outbound-svc also
recognises a request id it has accepted before, so the partner gets one message however often
a request is repeated (and a different body under a used id is refused: REQUEST_ID_REUSED).

Within the dedup window JetStream cannot tell the two apart: it drops any publish under a
request id it has seen, and only its acknowledgement says so (``PubAck.duplicate``). The
helpers read it: a dropped publish is the same request when this process published that very
request before (a retry after a timeout: nothing to say), and ``RequestIdReusedError``
otherwise, since nothing shows it was not another document under a used id.
"""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nats.aio.client import Client
from nats.js.api import PubAck
from nats.js.errors import ObjectNotFoundError
from nats.js.object_store import OBJ_DIGEST_TEMPLATE, ObjectStore

from as2bus.contracts.documents import documents_bucket, put_document
from as2bus.contracts.messages import DOCUMENTS_BUCKET, DocumentRef
from as2bus.contracts.outbound import (
    MAX_INLINE_BYTES,
    SEND_SUBJECT,
    SendAttachment,
    SendOverrides,
    SendRequest,
)
from as2bus.contracts.subjects import COMMANDS_STREAM, DEDUP_WINDOW_SECONDS


class RequestIdReusedError(Exception):
    """A send request was not published (or not stored) because its request id is in use:
    JetStream dropped it as a repeat within its duplicate window, and this process had not
    published that same request before; or the id's stored document is another one. The
    message is one sentence a person can act on."""

    def __init__(self, request_id: str, sentence: str) -> None:
        super().__init__(sentence)
        self.request_id = request_id


#: What this process published lately: request id -> (the request's digest, when). A publish
#: JetStream drops as a repeat is told apart by it: the same request again (a retry after a
#: timeout) or another one under a used id. Longer than any duplicate window worth having.
_published: OrderedDict[str, tuple[bytes, float]] = OrderedDict()
_REMEMBER_SECONDS = 600.0


def _published_lately(request_id: str) -> bytes | None:
    now = time.monotonic()
    while _published and next(iter(_published.values()))[1] < now - _REMEMBER_SECONDS:
        _published.popitem(last=False)
    before = _published.get(request_id)
    return before[0] if before is not None else None


def _remember(request_id: str, digest: bytes) -> None:
    _published[request_id] = (digest, time.monotonic())
    _published.move_to_end(request_id)


async def publish_send_request(client: Client, request: SendRequest) -> PubAck:
    """Publish ``request`` (Nats-Msg-Id: its request id); JetStream's acknowledgement.

    Raises ``RequestIdReusedError`` when JetStream dropped it as a repeat of a request id
    published within its duplicate window, unless this process published this same request
    under it (then the acknowledgement says ``duplicate``, and that request's events stand)."""
    # Serialized once: an inline document is up to 256 KiB. A subject left to the partner's
    # default is left out, not null: outbound-svc from before partners' default subjects
    # (during an upgrade) reads the request as it always did, with "AS2 Message".
    unset = {"subject"} if request.subject is None else None
    payload = request.model_dump_json(exclude=unset).encode()
    digest = hashlib.sha256(payload).digest()
    before = _published_lately(request.request_id)
    if before is None:
        _remember(request.request_id, digest)  # first: a timeout's retry is then known
    ack = await client.jetstream().publish(
        SEND_SUBJECT,
        payload,
        stream=COMMANDS_STREAM,
        headers={"Nats-Msg-Id": request.request_id, "content-type": "application/json"},
    )
    if not ack.duplicate:
        _remember(request.request_id, digest)
    elif before != digest:
        if before is None:
            del _published[request.request_id]  # what was stored under the id is not ours
        raise RequestIdReusedError(request.request_id, await _dropped(client, request.request_id))
    return ack


async def _dropped(client: Client, request_id: str) -> str:
    """The sentence for a publish dropped as a repeat, with the stream's duplicate window
    (when this user may read it)."""
    try:
        info = await client.jetstream().stream_info(COMMANDS_STREAM)
        window = f"the last {_duration(info.config.duplicate_window)}"
    except Exception:  # the window is a detail: a user not allowed to read it gets the default
        window = f"the stream's duplicate window ({_duration(DEDUP_WINDOW_SECONDS)} by default)"
    return (
        f"the request id {request_id!r} was already published within {window}, so this "
        "publish was dropped: if it was the same request, wait for that one's outcome; "
        "otherwise give this document its own request id"
    )


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"


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
    subject: str | None = None,
    request_id: str | None = None,
    overrides: SendOverrides | None = None,
    attachments: Sequence[Attachment] = (),
) -> SendRequest:
    """Store the documents (inline while they fit the inline allowance together), publish the
    request, return it. ``attachments``: more documents in the same message, after ``data``.

    The same call again (a retry after a timeout) is the same request, sent once. Raises
    ``RequestIdReusedError`` when ``request_id`` was used for another request: published
    within the duplicate window (see ``publish_send_request``), or its stored document
    (``out/<request_id>``) is another one, which is then left as it is."""
    chosen = request_id is not None  # by the caller, who may have used it before
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
        stored = await _stored(bucket, name, content, request_id) if chosen else None
        return {"document": stored or await put_document(bucket, name, content)}

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


async def _stored(
    bucket: ObjectStore, name: str, content: bytes, request_id: str
) -> DocumentRef | None:
    """The reference of ``content`` when the object ``name`` holds it already (the same
    request again); None when there is no such object. Another document under the name is
    the request id used before: replacing it would break the request that sent it."""
    try:
        info = await bucket.get_info(name)
    except ObjectNotFoundError:
        return None
    sha256 = hashlib.sha256(content)
    digest = OBJ_DIGEST_TEMPLATE.format(digest=base64.urlsafe_b64encode(sha256.digest()).decode())
    if (info.size, info.digest) == (len(content), digest):  # as put_document wrote it
        return DocumentRef(
            bucket=DOCUMENTS_BUCKET, name=name, size=len(content), sha256=sha256.hexdigest()
        )
    raise RequestIdReusedError(
        request_id,
        f"the request id {request_id!r} was used before for another document (the object "
        f"{name!r} holds it, and stays as it is): give this document its own request id",
    )
