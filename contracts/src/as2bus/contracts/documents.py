"""The documents bucket as another system sees it: open it (created on first use), store a
document in it, getting the ``DocumentRef`` a send request carries, and read a received one
back, checked against its reference. ``send_document`` stores the documents too large to
travel inline this way; a system reads each ``MessageReceived``'s documents with
``document_chunks``. The services keep and read documents with
``as2bus.shared.bus.documents.DocumentStore``, which stores and reads through here."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import weakref
from collections.abc import AsyncIterator, Iterable
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
#: Chunks on their way over one connection, every object being stored together. nats-server
#: (2.11 on) queues at most 128 MB of publishes per stream and refuses the rest with 429 "too
#: many requests": twenty 10 MB messages stored at once, 16 chunks each, went past it. 32
#: chunks (16 MiB) per connection leave room for several services on one stream.
CONNECTION_CHUNKS_IN_FLIGHT = 32
#: How long a chunk's acknowledgement is awaited before the object fails. nats-py loses the
#: error of a refused publish (its future never completes: nats-io/nats.py#985): without a
#: bound, such a store waited forever.
ACK_SECONDS = 30.0
_windows: weakref.WeakKeyDictionary[object, asyncio.Semaphore] = weakref.WeakKeyDictionary()
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
    window = _window(js)
    try:
        for chunk in chunks:
            digest.update(chunk)
            in_flight.append(await _publish_chunk(js, window, subject, chunk))
            size, count = size + len(chunk), count + 1
            if len(in_flight) >= CHUNKS_IN_FLIGHT:
                await _acknowledged(in_flight[0], name)
                in_flight.pop(0)
        for future in in_flight:
            await _acknowledged(future, name)
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


def _window(js: JetStreamContext) -> asyncio.Semaphore:
    """The connection's room for chunks on their way (``CONNECTION_CHUNKS_IN_FLIGHT``)."""
    connection = js._nc
    window = _windows.get(connection)
    if window is None:
        window = _windows[connection] = asyncio.Semaphore(CONNECTION_CHUNKS_IN_FLIGHT)
    return window


async def _publish_chunk(
    js: JetStreamContext, window: asyncio.Semaphore, subject: str, chunk: bytes
) -> asyncio.Future[api.PubAck]:
    """Publish once the connection has room; the room is freed when the chunk's answer
    comes, or when it is no longer awaited (its future cancelled)."""
    await window.acquire()
    try:
        future = await js.publish_async(subject, chunk)
    except BaseException:
        window.release()
        raise
    future.add_done_callback(lambda _: window.release())
    return future


async def _acknowledged(future: asyncio.Future[api.PubAck], name: str) -> api.PubAck:
    try:
        return await asyncio.wait_for(future, ACK_SECONDS)  # cancels the future on timeout
    except TimeoutError:
        reason = f"JetStream did not acknowledge a chunk of {name} within {ACK_SECONDS:g} s"
        raise TimeoutError(reason) from None


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
        for future in in_flight:
            future.cancel()  # an answer that never comes (see ACK_SECONDS) frees its room
    await js.purge_stream(stream, subject=subject)


async def put_document(bucket: ObjectStore, name: str, data: bytes) -> DocumentRef:
    """Store ``data`` as ``name`` in the documents bucket; its reference for a send request."""
    # The bucket's own JetStream context: the one it was opened with (put_document's callers
    # hold only the bucket, as nats-py's own put does).
    return await put_object(bucket._js, bucket, name, _sliced(data))


async def document_chunks(bucket: ObjectStore, ref: DocumentRef) -> AsyncIterator[bytes]:
    """The document ``ref`` names, chunk by chunk as stored (up to ``CHUNK_BYTES``; 128 KiB when
    nats-py stored it), one request per chunk, so a large document is never in memory whole::

        bucket = await documents_bucket(nc.jetstream())
        with open(part, "wb") as file:
            async for chunk in document_chunks(bucket, event.data.document):
                file.write(chunk)
        part.rename(target)  # only once every byte checked out

    Raises ``nats.js.errors.ObjectNotFoundError`` when there is no such object (deleted at the
    end of its retention), and ValueError after the last chunk when the bytes do not match the
    reference's size and sha256: a caller that wrote or streamed them on must treat them as
    void. nats-py's own ``ObjectStore.get`` creates a consumer for every read, which under load
    costs more than the read and can hit the server's consumer limits."""
    js = bucket._js  # the context the bucket was opened with, as put_document uses
    info = await bucket.get_info(ref.name)
    stream = OBJ_STREAM_TEMPLATE.format(bucket=ref.bucket)
    subject = OBJ_CHUNKS_PRE_TEMPLATE.format(bucket=ref.bucket, obj=info.nuid)
    digest, seen, count = hashlib.sha256(), 0, info.chunks or 0

    def ask(after: int) -> asyncio.Future[api.RawStreamMsg]:
        # A direct get answers with the raw bytes (the API's answer is base64 in JSON).
        return asyncio.ensure_future(
            js.get_msg(stream, seq=after, subject=subject, next=True, direct=True)
        )

    # The next chunk is asked for as soon as one arrives, before the caller has done with it:
    # the round trip (about a millisecond per 512 KiB) overlaps the caller's work instead of
    # adding to it (a 100 MB document: 200 round trips, 0.25 s).
    seq = 1
    asked = ask(seq) if count else None
    try:
        for index in range(count):
            assert asked is not None
            message = await asked
            data = message.data or b""
            seq = (message.seq or seq) + 1
            asked = ask(seq) if index + 1 < count else None
            digest.update(data)
            seen += len(data)
            yield data
    finally:
        if asked is not None:  # the caller stopped early
            asked.cancel()
            await asyncio.gather(asked, return_exceptions=True)
    if seen != ref.size or digest.hexdigest() != ref.sha256:
        raise ValueError(f"document {ref.name} does not match its size and sha256")


async def read_document(bucket: ObjectStore, ref: DocumentRef) -> bytes:
    """The whole document ``ref`` names, checked like ``document_chunks`` (whose errors it
    raises): for documents known to be small; stream larger ones to a file."""
    return b"".join([chunk async for chunk in document_chunks(bucket, ref)])
