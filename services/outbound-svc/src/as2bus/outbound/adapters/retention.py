"""Sent documents (attachments included), our messages as sent and their MDNs leave the
object store once their message has been settled for longer than the retention
(AS2BUS_OUTBOUND_DOCUMENT_RETENTION_HOURS, for downloads and resends from the console), whether
we stored them (inline requests, messages as sent, MDNs) or the publisher did (referenced
objects). Inline documents kept in the message's row (``content``) go at the same time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from as2bus.contracts import DocumentRef
from as2bus.outbound.adapters.tables import messages
from as2bus.outbound.domain import FINAL
from as2bus.outbound.domain.documents import stored_refs
from as2bus.shared.bus.documents import DocumentStore


class SentDocuments:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        documents: DocumentStore,
        keep: timedelta,
        *,
        clock: Callable[[], datetime],
        batch: int = 200,
    ) -> None:
        self._sessions = sessions
        self._documents = documents
        self._keep = keep
        self._clock = clock
        self._batch = batch

    async def purge(self) -> int:
        """Delete one batch of documents whose retention is over; how many."""
        now, m = self._clock(), messages.c
        async with self._sessions() as session:
            due = (
                await session.execute(
                    sa.select(m.id, m.document, m.attachments, m.mdn_document, m.sent_document)
                    .where(m.status.in_(FINAL))
                    .where(m.updated_at < now - self._keep)
                    .where(
                        m.document.is_not(None)
                        | m.attachments.is_not(None)
                        | m.mdn_document.is_not(None)
                        | m.sent_document.is_not(None)
                        | m.content.is_not(None)
                    )
                    .where(m.document_deleted_at.is_(None))
                    .limit(self._batch)
                )
            ).all()
        for row in due:
            for kept in (row.document, row.mdn_document, row.sent_document):
                if kept is not None:
                    await self._documents.delete(DocumentRef.model_validate(kept).name)
            for attachment in stored_refs(row.attachments):
                await self._documents.delete(attachment.name)
        if due:
            async with self._sessions() as session, session.begin():
                await session.execute(
                    sa.update(messages)
                    .where(messages.c.id.in_([row.id for row in due]))
                    .values(document_deleted_at=now, content=None)
                )
        return len(due)
