"""What a delivered message leaves in the object store: its documents (a message may carry
several, RFC 6362) and, unless turned off, the message as received. Used by ``service``, which
decides when: the copy is stored alongside the documents, and dropped if they fail."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import BinaryIO

from as2bus import as2
from as2bus.contracts import DocumentRef, ReceivedAttachment
from as2bus.inbound.domain import as_received_name, attachment_name, recorded_headers
from as2bus.inbound.ports import DocumentStorage

log = logging.getLogger(__name__)


class Storing:
    def __init__(self, documents: DocumentStorage, *, keep_received: bool) -> None:
        self._documents = documents
        self._keep_received = keep_received

    async def documents(
        self, name: str, message: as2.ReceivedMessage
    ) -> tuple[DocumentRef, list[ReceivedAttachment]]:
        """The message's document and its attachments into the object store."""
        ref = await self._store(name, message.payload, message.payload_file)
        # One at a time, each from where the codec left it (memory or its file): never a
        # second copy of a document in memory. Names follow the first document's, so a
        # message processed again after a crash overwrites rather than adds.
        attachments = []
        for index, attachment in enumerate(message.attachments, 1):
            stored = await self._store(
                attachment_name(name, index), attachment.payload, attachment.payload_file
            )
            attachments.append(
                ReceivedAttachment(
                    document=stored,
                    filename=attachment.filename,
                    content_type=attachment.content_type,
                )
            )
        return ref, attachments

    async def as_received(
        self, document: str, headers: Mapping[str, str], body: bytes | BinaryIO
    ) -> DocumentRef | None:
        """The message as it came (headers as recorded, never credentials; the body byte for
        byte), for the console's download: what the partner signed."""
        if not self._keep_received:
            return None
        name = as_received_name(document)
        recorded = list(recorded_headers(headers).items())
        return await self._documents.keep_http_message(name, recorded, body, what="as received")

    async def drop_copy(self, keeping: asyncio.Future[DocumentRef | None]) -> None:
        """The copy as received of a message that was not delivered, stored or on its way."""
        keeping.cancel()
        kept = None if keeping.cancelled() else keeping.result()
        if kept is not None:
            try:
                await self._documents.delete(kept.name)
            except Exception as err:
                log.warning("could not delete %s: %s", kept.name, err)

    async def _store(
        self, name: str, payload: bytes, spooled: as2.SpooledPayload | None
    ) -> DocumentRef:
        """A document into the object store: from memory, or streamed from its file."""
        if spooled is None:
            return await self._documents.put(name, payload)
        return await self._documents.put_file(name, spooled.file, spooled.offset, spooled.size)


def close_documents(message: as2.ReceivedMessage) -> None:
    """Close the files the codec left the documents in, each once (several documents may
    share one file)."""
    files = [message.payload_file, *(a.payload_file for a in message.attachments)]
    closed: list[BinaryIO] = []
    for spooled in files:
        if spooled is not None and not any(spooled.file is f for f in closed):
            closed.append(spooled.file)
            spooled.file.close()
