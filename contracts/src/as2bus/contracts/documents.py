"""The documents bucket as a publisher sees it: open it (created on first use) and store a
document in it, getting the ``DocumentRef`` a send request carries. ``send_document`` stores
the documents too large to travel inline this way; the services read and keep documents with
``as2bus.shared.bus.documents.DocumentStore``, which stores through here as well."""

from __future__ import annotations

import asyncio
import hashlib

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError
from nats.js.object_store import ObjectStore

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


# Hashing a few hundred KB on the event loop costs less than a trip to a worker thread.
_HASH_IN_THREAD_BYTES = 1 << 20


async def _sha256(data: bytes) -> str:
    if len(data) < _HASH_IN_THREAD_BYTES:
        return hashlib.sha256(data).hexdigest()
    return await asyncio.to_thread(lambda: hashlib.sha256(data).hexdigest())


async def put_document(bucket: ObjectStore, name: str, data: bytes) -> DocumentRef:
    """Store ``data`` as ``name`` in the documents bucket; its reference for a send request."""
    await bucket.put(name, data)
    return DocumentRef(
        bucket=DOCUMENTS_BUCKET, name=name, size=len(data), sha256=await _sha256(data)
    )
