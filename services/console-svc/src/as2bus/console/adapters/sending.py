"""Send File: the uploaded file goes to the object store from the temporary file the upload
was spooled to (never whole in memory), then a send request goes on the bus."""

from __future__ import annotations

import uuid
from typing import Any, BinaryIO

from nats.aio.client import Client

from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.bus.send import publish_send_request
from as2bus.shared.contracts import DocumentRef, SendRequest


class ResendError(Exception):
    """The message cannot be sent again; the message says why, for a person."""


class Sender:
    def __init__(self, client: Client, documents: DocumentStore) -> None:
        self._client = client
        self._documents = documents

    async def send_file(
        self,
        file: BinaryIO,
        size: int,
        *,
        station: str,
        partner: str,
        filename: str | None,
        content_type: str,
        subject: str,
    ) -> str:
        """Store and send; the request id, which tracklog-svc lists the message under."""
        request_id = f"console-{uuid.uuid4()}"
        ref = await self._documents.put_file(f"console/{request_id}", file, 0, size)
        request = SendRequest(
            request_id=request_id,
            station=station,
            partner=partner,
            document=ref,
            filename=filename,
            content_type=content_type,
            subject=subject,
        )
        await publish_send_request(self._client, request)
        return request_id

    async def resend(self, original: dict[str, Any]) -> str:
        """The original's document to the same partner again, as a new message that says which
        one it replays; the new request id."""
        if original.get("direction") != "outbound" or not original.get("message_id"):
            raise ResendError("only a message we sent can be sent again")
        if not original.get("document"):
            raise ResendError(
                "its document was kept only while it was in flight (a small document sent "
                "inline): send the file again with Send File"
            )
        ref = DocumentRef.model_validate(original["document"])
        if await self._documents.stored(ref.name) is None:
            raise ResendError(
                "its document is no longer kept (the retention of sent documents is over)"
            )
        request_id = f"console-{uuid.uuid4()}"
        request = SendRequest(
            request_id=request_id,
            station=original["station"],
            partner=original["partner"],
            document=ref,
            filename=original.get("filename"),
            content_type=original.get("content_type") or "application/octet-stream",
            subject=original.get("subject") or "AS2 Message",
            replays=original["message_id"],
        )
        await publish_send_request(self._client, request)
        return request_id
