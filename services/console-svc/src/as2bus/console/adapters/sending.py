"""Send File: the uploaded file goes to the object store from the temporary file the upload
was spooled to (never whole in memory), then a send request goes on the bus."""

from __future__ import annotations

import uuid
from typing import BinaryIO

from nats.aio.client import Client

from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.bus.send import publish_send_request
from as2bus.shared.contracts import SendRequest


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
