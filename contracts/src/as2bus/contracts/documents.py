"""The documents bucket as a publisher sees it: open it (created on first use) and store a
document in it, getting the ``DocumentRef`` a send request carries. ``send_document`` stores
the documents too large to travel inline this way; the services read and keep documents with
``as2bus.shared.bus.documents.DocumentStore``, which stores through here as well."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime

from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, BucketNotFoundError, NotFoundError
from nats.js.kv import MSG_ROLLUP_SUBJECT
from nats.js.object_store import (
    OBJ_CHUNKS_PRE_TEMPLATE,
    OBJ_DIGEST_TEMPLATE,
    OBJ_META_PRE_TEMPLATE,
    OBJ_STREAM_TEMPLATE,
    ObjectStore,
)

from as2bus.contracts.messages import DOCUMENTS_BUCKET, DocumentRef


async def documents_bucket(js: JetStreamContext, *, replicas: int = 1) -> ObjectStore:
    try:
        return await js.object_store(DOCUMENTS_BUCKET)
    except BucketNotFoundError:
        return await js.create_object_store(
            DOCUMENTS_BUCKET,
            config=None,
            description="as2bus documents received and to be sent",
            replicas=replicas,
        )


#: The size of the chunks we store. nats-py's ``ObjectStore.put`` stores 128 KiB chunks and
#: waits for each one's acknowledgement before it sends the next: a round trip per chunk, 800
#: for 100 MB. Every object-store reader (nats-py's, the Go and Java clients', ours) reads
#: chunks of any size, since the object's info says how many there are.
CHUNK_BYTES = 512 * 1024
#: Chunks sent before the first acknowledgement is awaited: the publisher holds at most this
#: many chunks in memory (8 MiB), and JetStream stores them in order.
CHUNKS_IN_FLIGHT = 16
#: A stream message stored only if its subject holds no message yet (JetStream's check), and
#: the error code of a refusal for that reason.
_EXPECT_NO_OBJECT = "Nats-Expected-Last-Subject-Sequence"
_WRONG_LAST_SEQUENCE = 10071


def _sliced(data: bytes) -> Iterable[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK_BYTES):
        yield bytes(view[start : start + CHUNK_BYTES])


async def put_object(
    js: JetStreamContext, bucket: ObjectStore, name: str, chunks: Iterable[bytes]
) -> DocumentRef:
    """Store the ``chunks`` (each at most ``CHUNK_BYTES``) as object ``name``: the same stream
    messages and object info nats-py writes, but with ``CHUNKS_IN_FLIGHT`` chunks on the way
    at once (measured for 100 MB against a local nats-server: 0.6 s with nats-py's put, 0.15 to
    0.3 s this way). A failure deletes the chunks sent so far; an object of the same name is
    replaced only once the new one is complete, as nats-py does."""
    stream = OBJ_STREAM_TEMPLATE.format(bucket=bucket._name)
    replaced: api.ObjectInfo | None = None
    nuid = js._nc._nuid.next().decode()
    subject = OBJ_CHUNKS_PRE_TEMPLATE.format(bucket=bucket._name, obj=nuid)
    digest, size, count = hashlib.sha256(), 0, 0
    in_flight: list[asyncio.Future[api.PubAck]] = []
    try:
        for chunk in chunks:
            digest.update(chunk)
            in_flight.append(await js.publish_async(subject, chunk))
            size, count = size + len(chunk), count + 1
            if len(in_flight) >= CHUNKS_IN_FLIGHT:
                await in_flight.pop(0)
        await asyncio.gather(*in_flight)
        info = api.ObjectInfo(
            name=name,
            bucket=bucket._name,
            nuid=nuid,
            size=size,
            chunks=count,
            mtime=datetime.now(UTC).isoformat(),
            digest=OBJ_DIGEST_TEMPLATE.format(
                digest=base64.urlsafe_b64encode(digest.digest()).decode()
            ),
            options=api.ObjectMetaOptions(max_chunk_size=CHUNK_BYTES),
        )
        meta = OBJ_META_PRE_TEMPLATE.format(
            bucket=bucket._name, obj=base64.urlsafe_b64encode(name.encode()).decode()
        )
        described = json.dumps(info.as_dict()).encode()
        rollup = {api.Header.ROLLUP.value: MSG_ROLLUP_SUBJECT}
        try:
            # Nearly every name is new (Message-IDs): stored on the condition that no object
            # of that name exists, which saves asking first (a third of a small object's
            # round trips). Only when one does is it looked up, to remove its chunks after.
            await js.publish(meta, described, headers={**rollup, _EXPECT_NO_OBJECT: "0"})
        except BadRequestError as err:
            if err.err_code != _WRONG_LAST_SEQUENCE:
                raise
            replaced = await _existing(bucket, name)
            await js.publish(meta, described, headers=rollup)
    except BaseException:
        # The chunks already sent are stored whatever becomes of their futures, and a purge is
        # not ordered after publishes still on their way: wait for their answers (briefly),
        # then purge what they stored.
        await asyncio.shield(_purge_after(js, in_flight, stream, subject))
        raise
    if replaced is not None and not replaced.deleted:
        old = OBJ_CHUNKS_PRE_TEMPLATE.format(bucket=bucket._name, obj=replaced.nuid)
        await js.purge_stream(stream, subject=old)
    return DocumentRef(bucket=bucket._name, name=name, size=size, sha256=digest.hexdigest())


async def _existing(bucket: ObjectStore, name: str) -> api.ObjectInfo | None:
    try:
        return await bucket.get_info(name, show_deleted=True)
    except NotFoundError:
        return None


async def _purge_after(
    js: JetStreamContext, in_flight: list[asyncio.Future[api.PubAck]], stream: str, subject: str
) -> None:
    if in_flight:
        await asyncio.wait(in_flight, timeout=5)
    await js.purge_stream(stream, subject=subject)


async def put_document(bucket: ObjectStore, name: str, data: bytes) -> DocumentRef:
    """Store ``data`` as ``name`` in the documents bucket; its reference for a send request."""
    # The bucket's own JetStream context: the one it was opened with (put_document's callers
    # hold only the bucket, as nats-py's own put does).
    return await put_object(bucket._js, bucket, name, _sliced(data))
