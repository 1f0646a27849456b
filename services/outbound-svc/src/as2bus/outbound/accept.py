"""Accepting a send request: everything that can be checked before sending is checked here,
so a request that cannot succeed is refused at once with a reason a person can act on."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.outbound.adapters.claims import new_message_id
from as2bus.outbound.adapters.tables import messages, outbox
from as2bus.outbound.parties import PartnershipUnavailableError, find_sides, resolve_sides
from as2bus.shared.bus.documents import DocumentStore
from as2bus.shared.bus.keys import KeyMaterialClient
from as2bus.shared.bus.replica import ConfigReplica
from as2bus.shared.contracts import (
    DocumentRef,
    MessageQueued,
    MessageRejected,
    OutboundMessage,
    Rejection,
    SendRequest,
)
from as2bus.shared.keyring import CertificateUnavailableError
from as2bus.shared.outbox import add_to_outbox

Outcome = Literal["queued", "duplicate", "rejected"]


class Acceptor:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        config: ConfigReplica,
        keys: KeyMaterialClient,
        documents: DocumentStore,
        *,
        max_document_bytes: int,
        keep_in_database_bytes: int = 0,
        clock: Callable[[], datetime],
        after_commit: Callable[[], None],
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._keys = keys
        self._documents = documents
        self._max_bytes = max_document_bytes
        self._keep_in_database_bytes = keep_in_database_bytes
        self._clock = clock
        self._after_commit = after_commit

    async def accept_raw(self, raw: bytes) -> Outcome:
        try:
            request = SendRequest.model_validate_json(raw)
        except ValidationError as err:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors()
            )
            await self._reject(None, None, None, "INVALID_REQUEST", problems[:1000])
            return "rejected"
        return await self.accept(request)

    async def accept(self, request: SendRequest) -> Outcome:
        def reject(code: str, reason: str) -> Awaitable[Outcome]:
            return self._refuse(request, code, reason)

        # Cheapest first: the configuration, then the document, then the certificates.
        try:
            find_sides(self._config, request.station, request.partner)
        except PartnershipUnavailableError as err:
            return await reject("UNKNOWN_PARTNERSHIP", str(err))
        inline = request.inline_bytes()
        size = len(inline) if inline is not None else 0
        if inline is not None and len(inline) > self._max_bytes:
            return await reject(
                "DOCUMENT_TOO_LARGE", f"{len(inline)} bytes; the limit is {self._max_bytes}"
            )
        document = request.document
        if document is not None:
            stored = await self._documents.size(document.name)
            if stored is None:
                return await reject(
                    "DOCUMENT_NOT_FOUND",
                    f"no document {document.name!r} in bucket {document.bucket!r}",
                )
            if stored > self._max_bytes:
                return await reject(
                    "DOCUMENT_TOO_LARGE", f"{stored} bytes; the limit is {self._max_bytes}"
                )
            size = stored
        try:
            await resolve_sides(
                self._config,
                self._keys,
                request.station,
                request.partner,
                request.overrides,
                async_mdn_url=None,
                at=self._clock(),
            )
        except PartnershipUnavailableError as err:
            return await reject("UNKNOWN_PARTNERSHIP", str(err))
        except CertificateUnavailableError as err:
            return await reject(err.reason, str(err))
        content = None
        if inline is not None and len(inline) <= self._keep_in_database_bytes:
            content = inline  # kept in the message's row: no object-store round trips
        elif inline is not None:
            if await self._known(request.request_id):
                return "duplicate"  # before storing a copy nobody would ever read
            document = await self._documents.put(f"out/{uuid.uuid4()}", inline)
        return await self._queue(request, document, size, content)

    async def _known(self, request_id: str) -> bool:
        async with self._sessions() as session:
            found = await session.scalar(
                sa.select(messages.c.id).where(messages.c.request_id == request_id)
            )
        return found is not None

    async def _queue(
        self,
        request: SendRequest,
        document: DocumentRef | None,
        size: int,
        content: bytes | None,
    ) -> Outcome:
        """One transaction: the message's row and MessageQueued. A request id seen before
        fails on its unique index: that is how a duplicate is told, with no read first."""
        now = self._clock()
        message_id = new_message_id(request.station)
        ref = document.model_dump(mode="json") if document is not None else None
        try:
            async with self._sessions() as session, session.begin():
                # A constant statement with parameters: nothing for SQLAlchemy to coerce or
                # derive a new cache key from (see shared/outbox.add_to_outbox).
                row = {
                    "id": uuid.uuid4(),
                    "request_id": request.request_id,
                    "message_id": message_id,
                    "station": request.station,
                    "partner": request.partner,
                    "filename": request.filename,
                    "content_type": request.content_type,
                    "subject": request.subject,
                    "document": ref,
                    "content": content,
                    "overrides": request.overrides.model_dump(mode="json")
                    if request.overrides
                    else None,
                    "status": "queued",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "signed_mdn": False,
                    "created_at": now,
                    "updated_at": now,
                }
                await session.execute(sa.insert(messages), row)
                queued = OutboundMessage(
                    request_id=request.request_id,
                    message_id=message_id,
                    station=request.station,
                    partner=request.partner,
                    filename=request.filename,
                    content_type=request.content_type,
                    size=size,
                    document=document,
                )
                await add_to_outbox(
                    session, outbox, MessageQueued(correlation_id=message_id, data=queued)
                )
        except sa.exc.IntegrityError:
            return "duplicate"  # the same request id, accepted before (here or by a replica)
        self._after_commit()
        return "queued"

    async def _refuse(self, request: SendRequest, code: str, reason: str) -> Outcome:
        if await self._known(request.request_id):
            return "duplicate"  # accepted before; what changed since is not this request's fault
        await self._reject(request.request_id, request.station, request.partner, code, reason)
        return "rejected"

    async def _reject(
        self,
        request_id: str | None,
        station: str | None,
        partner: str | None,
        code: str,
        reason: str,
    ) -> None:
        rejection = Rejection(
            direction="outbound",
            message_id=None,
            request_id=request_id,
            station=station,
            partner=partner,
            modifier=code,
            reason=reason,
        )
        async with self._sessions() as session, session.begin():
            await add_to_outbox(
                session, outbox, MessageRejected(correlation_id=request_id, data=rejection)
            )
        self._after_commit()
