"""Send File: the uploaded files go to the object store from the temporary files the upload
was spooled to (never whole in memory), then one send request goes on the bus: the first file
its document, the others its attachments (RFC 6362 multiple attachments), in order. Resend
sends a message's documents again the same way (adapters/sent_documents.py finds them)."""

from __future__ import annotations

import base64
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from nats.aio.client import Client

from as2bus.console.adapters.backends import Backend
from as2bus.console.adapters.sent_documents import RETENTION_OVER, SentDocument, SentDocuments
from as2bus.contracts import DocumentRef, SendAttachment, SendRequest
from as2bus.contracts.content_types import HEAD_BYTES, UNKNOWN, guess_content_type
from as2bus.contracts.send import RequestIdReusedError, publish_send_request
from as2bus.shared.bus.documents import DocumentStore

log = logging.getLogger(__name__)


class ResendError(Exception):
    """The message cannot be sent again; the message says why, for a person."""


@dataclass(frozen=True)
class Upload:
    """One file to send: ``size`` bytes of ``file`` from its start."""

    file: BinaryIO
    size: int
    filename: str | None
    content_type: str

    @classmethod
    def from_browser(
        cls, file: BinaryIO, size: int, filename: str | None, browser_type: str | None
    ) -> Upload:
        """A file with the type the browser gave it or, when it gave none or only
        application/octet-stream (what browsers say of .edi or .x12), the type its first bytes
        and name say, as ``as2bus send`` guesses it: an EDIFACT file is not sent as bytes."""
        if browser_type and browser_type != UNKNOWN:
            return cls(file, size, filename, browser_type)
        file.seek(0)
        head = file.read(HEAD_BYTES)
        file.seek(0)  # the store reads it from its start again (put_file seeks anyway)
        return cls(file, size, filename, guess_content_type(filename, head))


class Sender:
    def __init__(self, client: Client, documents: DocumentStore, outbound: Backend) -> None:
        self._client = client
        self._documents = documents
        self._sent = SentDocuments(documents, outbound)

    async def send_file(
        self,
        file: BinaryIO,
        size: int,
        *,
        station: str,
        partner: str,
        filename: str | None,
        content_type: str,
        subject: str | None,
    ) -> str:
        """One file alone (``send_files`` with one); the request id."""
        upload = Upload(file, size, filename, content_type)
        return await self.send_files([upload], station=station, partner=partner, subject=subject)

    async def send_files(
        self, uploads: Sequence[Upload], *, station: str, partner: str, subject: str | None
    ) -> str:
        """Store every file, then send them as one message, the first as its document; the
        request id, which tracklog-svc lists the message under. When a file cannot be stored,
        nothing is sent and the ones stored before it are deleted again (nobody else knows
        their names: left, they would stay until the store's own limits remove them)."""
        if not uploads:
            raise ValueError("no file to send")
        request_id = f"console-{uuid.uuid4()}"
        names = [f"console/{request_id}" + (f"/{i}" if i else "") for i in range(len(uploads))]
        refs: list[DocumentRef] = []
        try:
            for name, upload in zip(names, uploads, strict=True):
                refs.append(await self._documents.put_file(name, upload.file, 0, upload.size))
        except Exception:
            # The one that failed too: put_file stores before it finds the size wrong.
            await self._forget(names[: len(refs) + 1])
            raise
        first, *others = zip(uploads, refs, strict=True)
        request = SendRequest(
            request_id=request_id,
            station=station,
            partner=partner,
            document=first[1],
            filename=first[0].filename,
            content_type=first[0].content_type,
            subject=subject,
            attachments=[
                SendAttachment(document=ref, filename=u.filename, content_type=u.content_type)
                for u, ref in others
            ],
        )
        await publish_send_request(self._client, request)
        return request_id

    async def _forget(self, names: Sequence[str]) -> None:
        for name in names:
            try:
                await self._documents.delete(name)
            except Exception as err:  # the store failed already: the first error is the news
                log.warning("could not delete %s after a failed Send File: %s", name, err)

    async def resend(self, original: dict[str, Any], request_id: str | None = None) -> str:
        """The original's documents (the first and its attachments) to the same partner
        again, as a new message that says which one it replays; the new request id. Those
        in the object store go by their reference; those sent inline, which only outbound-svc
        keeps, are read from it and go inline again. ``request_id`` given (the confirmation
        form's): the same confirmation sent twice is one request, which outbound-svc takes
        once."""
        if original.get("direction") != "outbound" or not original.get("message_id"):
            raise ResendError("only a message we sent can be sent again")
        found = await self._sent.of(original)
        for document in found:
            if document.missing:
                raise ResendError(f"{document.called} {document.missing}")
        first, *others = [await self._again(original["message_id"], d) for d in found]
        confirmed = request_id is not None
        request_id = request_id or f"console-{uuid.uuid4()}"
        request = SendRequest(
            request_id=request_id,
            station=original["station"],
            partner=original["partner"],
            filename=original.get("filename"),
            content_type=found[0].content_type,
            subject=original.get("subject"),  # as sent; none: the partner's default
            replays=original["message_id"],
            attachments=[
                SendAttachment(filename=d.filename, content_type=d.content_type, **fields)
                for d, fields in zip(found[1:], others, strict=True)
            ],
            **first,
        )
        try:
            await publish_send_request(self._client, request)
        except RequestIdReusedError:
            if not confirmed:
                raise
            # The same confirmation sent twice (by another console replica, or before a
            # restart): its request id names this very resend, published already.
        return request_id

    async def _again(self, message_id: str, document: SentDocument) -> dict[str, Any]:
        """The request's fields that give ``document`` again: its reference, or its bytes."""
        if document.ref is not None:
            return {"document": document.ref}
        kept = await self._sent.read(message_id, document.number)
        if kept is None:  # the retention took it since it was looked for
            raise ResendError(f"{document.called} {RETENTION_OVER}")
        return {"inline_base64": base64.b64encode(kept.content).decode()}
