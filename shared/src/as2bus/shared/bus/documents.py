"""Documents live in the JetStream object store (bucket ``as2_documents``); events carry only a
``DocumentRef``. Used by inbound (received documents), outbound (documents to send) and the
``as2bus inbox`` / ``as2bus send`` commands."""

from __future__ import annotations

import hashlib

from nats.js import JetStreamContext
from nats.js.errors import BucketNotFoundError, ObjectNotFoundError
from nats.js.object_store import ObjectStore

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


class DocumentStore:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    async def put(self, name: str, data: bytes) -> DocumentRef:
        await self._store.put(name, data)
        return DocumentRef(
            bucket=DOCUMENTS_BUCKET,
            name=name,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
        )

    async def size(self, name: str) -> int | None:
        """The stored object's size, or None when there is no such object."""
        try:
            info = await self._store.get_info(name)
        except ObjectNotFoundError:
            return None
        return int(info.size or 0)

    async def get(self, ref: DocumentRef) -> bytes:
        result = await self._store.get(ref.name)
        data = result.data or b""
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise ValueError(f"document {ref.name} does not match its sha256")
        return data
