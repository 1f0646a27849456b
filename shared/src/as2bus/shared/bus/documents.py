"""Documents live in the JetStream object store (bucket ``as2_documents``); events carry only a
``DocumentRef``. Used by inbound (received documents), outbound (documents to send) and the
``as2bus inbox`` / ``as2bus send`` commands."""

from __future__ import annotations

import asyncio
import hashlib

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, ObjectNotFoundError
from nats.js.object_store import OBJ_CHUNKS_PRE_TEMPLATE, OBJ_STREAM_TEMPLATE, ObjectStore

from as2bus.shared.contracts import DOCUMENTS_BUCKET, DocumentRef


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


# Hashing a few hundred KB on the event loop costs less than a trip to a worker thread.
_HASH_IN_THREAD_BYTES = 1 << 20


async def _sha256(data: bytes) -> str:
    if len(data) < _HASH_IN_THREAD_BYTES:
        return hashlib.sha256(data).hexdigest()
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


class _Chunks:
    """A ``writeinto`` sink for ObjectStore.get: keeps the chunks and joins them once. Without
    one, nats-py grows the result with ``bytes +=`` per 128 KB chunk, which is quadratic (a
    100 MB document took 31 s to read)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, chunk: bytes) -> int:
        self.parts.append(chunk)
        return len(chunk)


class DocumentStore:
    def __init__(self, store: ObjectStore, js: JetStreamContext) -> None:
        self._store = store
        self._js = js

    async def put(self, name: str, data: bytes) -> DocumentRef:
        await self._store.put(name, data)
        return DocumentRef(
            bucket=DOCUMENTS_BUCKET, name=name, size=len(data), sha256=await _sha256(data)
        )

    async def size(self, name: str) -> int | None:
        """The stored object's size, or None when there is no such object."""
        try:
            info = await self._store.get_info(name)
        except ObjectNotFoundError:
            return None
        return int(info.size or 0)

    async def get(self, ref: DocumentRef) -> bytes:
        """The document's bytes, checked against the reference's sha256.

        A document of one chunk (most EDI) is read with a single stream-message request; the
        object store's own reader would create and delete a consumer for every read, which
        under load costs more than the read and can hit the server's consumer limits.
        """
        info = await self._store.get_info(ref.name)
        if (info.chunks or 0) == 1 and info.nuid and not info.is_link():
            message = await self._js.get_msg(
                OBJ_STREAM_TEMPLATE.format(bucket=ref.bucket),
                subject=OBJ_CHUNKS_PRE_TEMPLATE.format(bucket=ref.bucket, obj=info.nuid),
            )
            data = message.data or b""
        else:
            sink = _Chunks()
            await self._store.get(ref.name, writeinto=sink)  # type: ignore[arg-type]
            data = b"".join(sink.parts)
            sink.parts.clear()
        if await _sha256(data) != ref.sha256:
            raise ValueError(f"document {ref.name} does not match its sha256")
        return data
